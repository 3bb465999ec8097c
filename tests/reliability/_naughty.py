"""A corpus of hostile strings (written for this suite, naughty-strings style) and a table that
puts them at every render site of the widget. Imported by the browser test's notebook kernel."""

from __future__ import annotations

import json
from typing import Any

PWN = "window.__pwned=(window.__pwned||0)+1"

PAYLOADS = [
    f'<img src=x onerror="{PWN}">',
    f"<img src=x onerror={PWN}>",
    f'<svg onload="{PWN}">',
    f"<svg><script>{PWN}</script></svg>",
    f"<script>{PWN}</script>",
    f"<SCRIPT>{PWN}</SCRIPT>",
    f'"><script>{PWN}</script>',
    f'\'><img src=x onerror="{PWN}">',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    '<iframe src="javascript:parent.__pwned=1"></iframe>',
    f'<details open ontoggle="{PWN}">',
    f'<body onload="{PWN}">',
    f'<input autofocus onfocus="{PWN}">',
    f"javascript:{PWN}",
    f'<a href="javascript:{PWN}">click</a>',
    f'<object data="javascript:{PWN}"></object>',
    f'<embed src="javascript:{PWN}">',
    f'<video><source onerror="{PWN}"></video>',
    f'<audio src=x onerror="{PWN}">',
    f'<marquee onstart="{PWN}">x</marquee>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{PWN}">',
    f'<noscript><p title="</noscript><img src=x onerror={PWN}>">',
    f"<style>@import 'javascript:{PWN}';</style>",
    f'<link rel=import href="javascript:{PWN}">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{PWN}">',
    f'<form><button formaction="javascript:{PWN}">x</button></form>',
    f'<template><img src=x onerror="{PWN}"></template>',
    f'<!--<img src=x onerror="{PWN}">-->',
    f'<![CDATA[<img src=x onerror="{PWN}">]]>',
    '<img src="x" onerror="&#119;indow.__pwned=1">',
    f"<img src=x onerror=\"eval(atob('{'d2luZG93Ll9fcHduZWQ9MQ=='}'))\">",
    "{{constructor.constructor('window.__pwned=1')()}}",
    "${window.__pwned=1}",
    "#{window.__pwned=1}",
    "<%= window.__pwned=1 %>",
    "{{7*7}}",
    "[[7*7]]",
    f'<svg><a xlink:href="javascript:{PWN}"><text x="20" y="20">x</text></a></svg>',
    f'<svg><animate onbegin="{PWN}" attributeName=x dur=1s>',
    f'<svg><foreignObject><img src=x onerror="{PWN}"></foreignObject></svg>',
    f'<x onmouseover="{PWN}" style="display:block;position:fixed;inset:0">hover</x>',
    "<img src=x onerror=alert(1)>",
    "<script>alert('xss')</script>",
    "<svg onload=confirm(1)>",
    "<img src=x onerror=prompt(1)>",
    "javascript:alert(1)",
    "</td></tr></table><b>bold</b>",
    "<b>bold</b>",
    "<i>",
    "</div></div></div>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;script&gt;",
    "&#x3C;script&#x3E;",
    "\\u003cscript\\u003e",
]

NAUGHTY = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "\u2003",
    "\u3000",
    "\u200b",
    "\ufeff",
    "undefined",
    "null",
    "NULL",
    "None",
    "nil",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "True",
    "0",
    "-0",
    "0.0",
    "1e309",
    "-1e309",
    "0x0",
    "1/0",
    "00",
    "01",
    "1_000",
    "9" * 400,
    "constructor",
    "__proto__",
    "prototype",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "__defineGetter__",
    "Object",
    "window",
    "document",
    "this",
    "$",
    "$$",
    "_",
    "'",
    '"',
    "`",
    "''",
    '""',
    "\\",
    "\\\\",
    "\\n",
    "\\x00",
    "%s",
    "%d",
    "%n%n%n",
    "{0}",
    "{}",
    "[]",
    "{",
    "}",
    "()",
    "<>",
    "';--",
    "' OR '1'='1",
    "1; DROP TABLE t",
    '"; DROP TABLE t; --',
    "../../etc/passwd",
    "C:\\Windows\\System32",
    "file:///etc/passwd",
    "http://example.com",
    "mailto:a@b",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "\x00",
    "a\x00b",
    "\x07",
    "\x1b[31mred\x1b[0m",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "abc\u202edef",
    "\u202eexe.txt",
    "\u2066isolate\u2069",
    "\u200e\u200f",
    "\u061c",
    "בדיקה",
    "اختبار",
    "مرحبا بالعالم",
    "שלום עולם \u202b embed",
    "日本語",
    "テスト",
    "한국어",
    "中文字符",
    "Ελληνικά",
    "Кириллица",
    "ภาษาไทย",
    "हिन्दी",
    "ﷺ",
    "𝕿𝖊𝖘𝖙",
    "𝒶𝒷𝒸",
    "Ｆｕｌｌｗｉｄｔｈ",
    "ｱｲｳ",
    "😀",
    "👩‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇺🇸🇬🇧",
    "❤️",
    "1️⃣",
    "\U0001f4a9" * 10,
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "e\u0301",
    "é",
    "ﬁ",
    "Å",
    "Å",
    "ǅ",
    "ß",
    "İ",
    "ı",
    "ǰ",
    "ŉ",
    "\u0300",
    "\u0308" * 50,
    "\ud7ff",
    "\ue000",
    "\uffff",
    "\ufffd",
    "\U0010ffff",
    "Ω≈ç√∫˜µ≤≥÷",
    "åß∂ƒ©˙∆˚¬…æ",
    "¡™£¢∞§¶•ªº–≠",
    "¸˛Ç◊ı˜Â¯˘¿",
    "ÅÍÎÏ˝ÓÔÒÚÆ☃",
    "Œ„´‰ˇÁ¨ˆØ∏”’",
    "`⁄€‹›ﬁﬂ‡°·‚—±",
    "⅛⅜⅝⅞",
    "ЁЂЃЄЅІЇЈЉЊЋЌЍЎЏАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "٠١٢٣٤٥٦٧٨٩",
    "⁰⁴⁵",
    "₀₁₂",
    "²",
    "  leading",
    "trailing  ",
    "a\tb",
    "a\nb",
    "line1\nline2\nline3",
    "a\rb",
    "\u0000\u0001\u0002",
    "word " * 200,
    "x" * 10_000,
    "<" * 1000,
    "&" * 1000,
]

#: Hostile dict keys: names that would change an object's prototype or shadow built-ins.
PROTO_KEYS = [
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "__defineSetter__",
    "then",
    "length",
    "0",
    "<img src=x onerror=alert(1)>",
]

MEGABYTE = "Ω" + "m" * (1 << 20) + "<script>window.__pwned=1</script>"


def corpus() -> list[str]:
    """~340 strings: payloads, naughty strings, payloads behind a bidi override and in quotes,
    and a 1 MB string with a script at its end."""
    variants = [f"\u202e{p}" for p in PAYLOADS] + [f"x'\"`{p}" for p in PAYLOADS]
    out = list(dict.fromkeys([*PAYLOADS, *NAUGHTY, *variants]))
    return [*out, MEGABYTE]


def hostile_dicts() -> list[str]:
    """JSON dict cells whose keys try prototype pollution and whose values are payloads."""
    out = []
    for i, s in enumerate(corpus()):
        key = PROTO_KEYS[i % len(PROTO_KEYS)]
        value: Any = (
            {"polluted": "yes", "x": s} if key in ("__proto__", "constructor", "prototype") else s
        )
        out.append(
            json.dumps(
                {key: value, s[:200]: s[:200], "constructor": {"prototype": {"polluted": "yes"}}}
            )
        )
    return out


def hostile_table() -> tuple[Any, Any]:
    """(Arrow table, read_blob): a row per corpus string, which appears as a cell, a dict key and
    value, an image caption and a box caption; class names and 20 column headers are payloads."""
    import pyarrow as pa
    from PIL import Image

    from tests.widget import _synth

    texts = corpus()
    blobs = _synth.Blobs()
    digest = blobs.add(_synth.png(Image.new("RGB", (64, 48), (90, 120, 160))))
    classes = [{"id": i, "name": PAYLOADS[i % len(PAYLOADS)]} for i in range(8)]
    cdig = _synth.sha(json.dumps(classes, sort_keys=True).encode())
    cells = []
    for i, s in enumerate(texts):
        box = {
            "position": {"minX": 4, "maxX": 40, "minY": 4, "maxY": 40},
            "domain": "pixel",
            "class_id": i % 8,
            "scores": {s[:50] or "score": 0.9},
            "box_caption": s[:5000],
        }
        cells.append(
            {
                "digest": digest,
                "format": "png",
                "width": 64,
                "height": 48,
                "caption": s[:5000],
                "boxes": json.dumps({"predictions": {"box_data": [box]}}),
                "masks": None,
                "classes": cdig,
            }
        )
    headers = PAYLOADS[:20]
    fields = [
        _synth.field("id", "int", pa.int64()),
        _synth.field("text", "str", pa.string()),
        _synth.field("meta", "dict", pa.string()),
        _synth.field("image", "image", _synth.IMAGE_TYPE),
        *[_synth.field(h, "str", pa.string()) for h in headers],
    ]
    schema = pa.schema(
        fields,
        metadata={
            _synth.META: json.dumps(
                {"format": 1, "classes": {cdig: classes}, "derived": []}
            ).encode()
        },
    )
    n = len(texts)
    columns = [
        list(range(n)),
        texts,
        hostile_dicts(),
        pa.array(cells, _synth.IMAGE_TYPE),
        *[[h] * n for h in headers],
    ]
    return pa.table(columns, schema=schema), blobs.read

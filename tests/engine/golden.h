// The llama.cpp golden outputs in ../shared/golden: prompt, greedy continuation and logits.
#pragma once

#include <QFile>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace es::test {

struct Golden {
  QString gguf_path;
  std::vector<int32_t> prompt;
  std::vector<int32_t> greedy;  ///< The 8 generated tokens.
  std::vector<float> logits;    ///< 16 rows x n_vocab: prompt rows, then generated 1..7.
  int n_vocab = 0;

  /// prompt + greedy[0..6]: the 16 tokens whose logits the file holds.
  [[nodiscard]] std::vector<int32_t> eval_tokens() const {
    std::vector<int32_t> t = prompt;
    t.insert(t.end(), greedy.begin(), greedy.end() - 1);
    return t;
  }
};

/// Loads golden model `name` ("qwen3moe-tiny-f32"); false if the files are absent.
inline bool load_golden(const QString& dir, const QString& name, Golden& g) {
  QFile txt(dir + "/" + name + ".txt");
  QFile bin(dir + "/" + name + ".logits.f32");
  if (!txt.open(QIODevice::ReadOnly) || !bin.open(QIODevice::ReadOnly)) return false;
  g.gguf_path = dir + "/" + name + ".gguf";
  for (const QString& line : QString::fromUtf8(txt.readAll()).split('\n')) {
    const auto ids = [&](const QString& prefix) {
      std::vector<int32_t> out;
      for (const QString& s : line.mid(prefix.size()).split(' ', Qt::SkipEmptyParts)) {
        out.push_back(s.toInt());
      }
      return out;
    };
    if (line.startsWith("prompt_ids: ")) g.prompt = ids("prompt_ids: ");
    if (line.startsWith("greedy_ids: ")) g.greedy = ids("greedy_ids: ");
  }
  const QByteArray raw = bin.readAll();
  g.logits.resize(static_cast<size_t>(raw.size()) / 4);
  std::memcpy(g.logits.data(), raw.constData(), g.logits.size() * 4);
  g.n_vocab = static_cast<int>(g.logits.size() / 16);
  return !g.prompt.empty() && g.greedy.size() == 8;
}

}  // namespace es::test

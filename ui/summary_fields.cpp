#include "summary_fields.h"

#include <QCoreApplication>
#include <QFileInfo>

#include "format.h"

namespace es::ui {

namespace {

QString tr(const char* text) {
  return QCoreApplication::translate("es::ui::Summary", text);
}

QString from_view(std::string_view text) {
  return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

/// A section being filled.
struct Section {
  SummarySection section;
  Section(QString key, QString title) : section{std::move(key), std::move(title), {}} {}
  void add(const char* key, const char* label, QString value, QString tip = {}) {
    section.fields.push_back({QLatin1String(key), tr(label), std::move(value), std::move(tip)});
  }
};

QString rope_text(const HParams& hp) {
  QString style = hp.rope_style == RopeStyle::neox     ? tr("NeoX")
                  : hp.rope_style == RopeStyle::normal ? tr("normal")
                                                       : tr("unset");
  QString text = tr("%1 · %2 dims · base %3")
                     .arg(style, format_count(hp.n_rot), QLocale().toString(hp.rope_freq_base));
  if (hp.rope_scaling == RopeScaling::yarn) {
    text += tr(" · YaRN ×%1").arg(QLocale().toString(hp.rope_scaling_factor));
  } else if (hp.rope_scaling == RopeScaling::linear) {
    text += tr(" · linear ×%1").arg(QLocale().toString(hp.rope_scaling_factor));
  }
  return text;
}

SummarySection architecture_section(const ModelSnapshot& s) {
  const HParams& hp = s.summary.hp;
  Section sec{QStringLiteral("architecture"), tr("Architecture")};
  sec.add("arch", "Architecture", from_view(arch_name(hp.arch)));
  sec.add("n_layer", "Layers", format_count(hp.n_layer));
  sec.add("n_embd", "Embedding width", format_count(hp.n_embd));
  sec.add("n_head", "Attention heads", format_count(hp.n_head));
  sec.add(
      "n_head_kv", "KV heads", format_count(hp.n_head_kv),
      hp.n_head_kv > 0 && hp.n_head_kv < hp.n_head
          ? tr("Grouped-query attention: %1 query heads per KV head").arg(hp.n_head / hp.n_head_kv)
          : QString());
  if (hp.head_dim_k > 0) {
    sec.add(
        "head_dim", "Head dim (K / V)",
        QStringLiteral("%1 / %2").arg(format_count(hp.head_dim_k), format_count(hp.head_dim_v)));
  }
  sec.add("n_ctx_train", "Context length", format_count(hp.n_ctx_train));
  sec.add("n_vocab", "Vocabulary", format_count(hp.n_vocab));
  if (hp.n_ff > 0) sec.add("n_ff", "Dense FFN width", format_count(hp.n_ff));
  if (hp.n_rot > 0) sec.add("rope", "RoPE", rope_text(hp));
  if (hp.sliding_window > 0)
    sec.add("sliding_window", "Sliding window", format_count(hp.sliding_window));
  return std::move(sec.section);
}

SummarySection experts_section(const ModelSnapshot& s) {
  const HParams& hp = s.summary.hp;
  Section sec{QStringLiteral("experts"), tr("Mixture of experts")};
  if (hp.n_expert == 0) {
    sec.add("n_expert", "Experts", tr("none (dense model)"));
    return std::move(sec.section);
  }
  sec.add("n_expert", "Routed experts", format_count(hp.n_expert));
  sec.add("n_expert_used", "Experts per token", format_count(hp.n_expert_used));
  sec.add("n_expert_shared", "Shared experts", format_count(hp.n_expert_shared));
  if (hp.n_ff_exp > 0) sec.add("n_ff_exp", "Expert FFN width", format_count(hp.n_ff_exp));
  if (hp.n_ff_shexp > 0) sec.add("n_ff_shexp", "Shared FFN width", format_count(hp.n_ff_shexp));
  sec.add("gating", "Gating", from_view(gating_name(hp.gating)));
  QString weights = hp.expert_weights_norm ? tr("normalised") : tr("as gated");
  if (hp.expert_weights_scale > 0.0f && hp.expert_weights_scale != 1.0f) {
    weights += tr(", scaled ×%1").arg(QLocale().toString(hp.expert_weights_scale));
  }
  sec.add("expert_weights", "Expert weights", weights);
  if (hp.n_expert_groups > 1) {
    sec.add(
        "expert_groups", "Expert groups",
        tr("%1 of %2 used").arg(format_count(hp.n_group_used), format_count(hp.n_expert_groups)),
        tr("Group-limited routing: experts are chosen only from the best groups"));
  }
  const uint32_t n_moe = hp.n_layer > hp.n_leading_dense ? hp.n_layer - hp.n_leading_dense : 0;
  sec.add("n_leading_dense", "Leading dense layers", format_count(hp.n_leading_dense));
  sec.add("n_moe_layers", "MoE layers",
          tr("%1 of %2").arg(format_count(n_moe), format_count(hp.n_layer)));
  return std::move(sec.section);
}

SummarySection mla_section(const ModelSnapshot& s) {
  const HParams& hp = s.summary.hp;
  Section sec{QStringLiteral("mla"), tr("Latent attention (MLA)")};
  sec.add("q_lora_rank", "Query rank",
          hp.q_lora_rank > 0 ? format_count(hp.q_lora_rank) : tr("full rank"));
  sec.add("kv_lora_rank", "KV rank", format_count(hp.kv_lora_rank));
  if (hp.head_dim_k_mla > 0)
    sec.add("head_dim_k_mla", "Key head dim", format_count(hp.head_dim_k_mla));
  if (hp.head_dim_v_mla > 0) {
    sec.add("head_dim_v_mla", "Value head dim", format_count(hp.head_dim_v_mla));
  }
  if (hp.n_rot > 0) sec.add("n_rot", "RoPE dims", format_count(hp.n_rot));
  return std::move(sec.section);
}

SummarySection size_section(const ModelSnapshot& s) {
  const ModelSummary& sum = s.summary;
  Section sec{QStringLiteral("size"), tr("Size")};
  sec.add("n_params", "Parameters", format_params(sum.n_params),
          tr("%1 parameters").arg(format_count(sum.n_params)));
  sec.add("n_params_active", "Active per token", format_params(sum.n_params_active),
          tr("%1 parameters (%2 of all): non-expert weights, the routed experts of one token and "
             "the shared experts")
              .arg(format_count(sum.n_params_active),
                   format_percent(sum.n_params_active, sum.n_params)));
  sec.add("file_size", "File size", format_bytes(s.file_size_bytes),
          tr("%1 bytes").arg(format_count(s.file_size_bytes)));
  sec.add("n_bytes_tensors", "Tensor data", format_bytes(sum.n_bytes_tensors),
          tr("%1 bytes").arg(format_count(sum.n_bytes_tensors)));
  sec.add("n_tensors", "Tensors", format_count(s.tensors.size()));
  sec.add("n_metadata", "Metadata entries", format_count(s.n_metadata));
  sec.add("gguf_version", "GGUF version", QString::number(s.gguf_version));
  return std::move(sec.section);
}

SummarySection tokenizer_section(const ModelSnapshot& s) {
  const TokenizerSummary& t = s.summary.tokenizer;
  Section sec{QStringLiteral("tokenizer"), tr("Tokenizer")};
  const auto text_or_dash = [](const std::string& v) {
    return v.empty() ? QStringLiteral("–") : QString::fromStdString(v);
  };
  const auto id_or_dash = [](int64_t id) {
    return id < 0 ? QStringLiteral("–") : QString::number(id);
  };
  sec.add("tokenizer_model", "Model", text_or_dash(t.model));
  sec.add("tokenizer_pre", "Pre-tokenizer", text_or_dash(t.pre));
  sec.add("tokenizer_tokens", "Tokens", format_count(t.n_tokens));
  sec.add("special_ids", "BOS / EOS",
          QStringLiteral("%1 / %2").arg(id_or_dash(t.bos_id), id_or_dash(t.eos_id)));
  sec.add("has_chat_template", "Chat template", t.has_chat_template ? tr("yes") : tr("no"));
  return std::move(sec.section);
}

SummarySection types_section(const ModelSnapshot& s) {
  const ModelSummary& sum = s.summary;
  Section sec{QStringLiteral("types"), tr("Bytes by type")};
  for (const auto& [type, bytes] : sum.bytes_by_type) {
    const QString name = QString::fromStdString(type);
    sec.section.fields.push_back(
        {QStringLiteral("bytes.") + name, name,
         QStringLiteral("%1  ·  %2")
             .arg(format_bytes(bytes), format_percent(bytes, sum.n_bytes_tensors)),
         tr("%1 bytes").arg(format_count(bytes))});
  }
  return std::move(sec.section);
}

}  // namespace

std::vector<SummarySection> summary_sections(const ModelSnapshot& snapshot) {
  const HParams& hp = snapshot.summary.hp;
  std::vector<SummarySection> sections;
  sections.push_back(architecture_section(snapshot));
  sections.push_back(experts_section(snapshot));
  sections.push_back(size_section(snapshot));
  if (hp.q_lora_rank > 0 || hp.kv_lora_rank > 0) sections.push_back(mla_section(snapshot));
  sections.push_back(tokenizer_section(snapshot));
  sections.push_back(types_section(snapshot));
  return sections;
}

QString model_display_name(const ModelSnapshot& snapshot) {
  if (!snapshot.summary.hp.name.empty()) return QString::fromStdString(snapshot.summary.hp.name);
  QString base = QFileInfo(snapshot.path).fileName();
  if (base.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive)) base.chop(5);
  return base;
}

}  // namespace es::ui

// The conversation: one card per message (role, time, Markdown-rendered text with its
// code blocks in monospace and a copy button each, attachments as thumbnails — a
// picture's, a video's poster frame with its duration and the frames sampled, decoded off
// the UI thread; a document's name and what of it was kept — and under each answer a
// footer with tokens, tokens/s and time to first token). The answer being generated grows
// token by token.
#pragma once

#include <QElapsedTimer>
#include <QFrame>
#include <QScrollArea>
#include <QTimer>
#include <memory>
#include <vector>

#include "chat_controller.h"
#include "expertscope/projector.h"

class QLabel;
class QToolButton;
class QVBoxLayout;

namespace es::ui {

/// One message card.
class MessageCard : public QFrame {
  Q_OBJECT

 public:
  /// A card for `message` (shared: its attachments' pictures are decoded off the UI thread
  /// from it); `projector` (may be null) says how many frames of a video are sampled.
  MessageCard(std::shared_ptr<const Message> message, const Projector* projector,
              QWidget* parent = nullptr);

  /// Replaces the text (Markdown) and re-renders it.
  void setContent(const QString& markdown);
  /// The message's tokens (their texts), enabling the Tokens view: each token is then a
  /// hover target and the card emits tokenHovered.
  void setTokens(std::vector<std::string> token_texts);
  /// Shows the text as tokens (true) or as rendered Markdown (false).
  void setTokensShown(bool shown);
  [[nodiscard]] bool tokensShown() const noexcept { return tokens_shown_; }
  /// The footer line under the text.
  void setFooter(const QString& text);
  [[nodiscard]] QString content() const { return markdown_; }
  [[nodiscard]] QLabel* textLabel() const { return text_; }

 signals:
  /// The pointer is over token `token` of this message (Tokens view).
  void tokenHovered(int token);

 private:
  void render();
  void rebuildCodeButtons();

  QString markdown_;
  std::vector<std::string> token_texts_;
  bool tokens_shown_ = false;
  QToolButton* tokens_button_ = nullptr;
  QLabel* text_ = nullptr;
  QLabel* footer_ = nullptr;
  QWidget* code_row_ = nullptr;
};

/// The scrolling list of message cards.
class ConversationView : public QScrollArea {
  Q_OBJECT

 public:
  explicit ConversationView(QWidget* parent = nullptr);

  /// Shows a stored session (replacing what is shown).
  void setSession(const SessionPtr& session);
  /// The vision projector of the open model (may be null): how many frames of a video
  /// it samples, as the cards say. Applies to cards made from now on.
  void setProjector(std::shared_ptr<const Projector> projector) {
    projector_ = std::move(projector);
  }
  /// Shows the user's message at once and an empty answer that tokens will fill.
  void beginTurn(std::shared_ptr<const Message> user);
  /// Appends a streamed token to the answer (rendered at most every 40 ms).
  void appendToken(const StreamedToken& token);
  /// The turn failed: the answer card says why.
  void failTurn(const QString& message);

  [[nodiscard]] SessionPtr session() const { return session_; }
  /// The cards shown, in order.
  [[nodiscard]] const std::vector<MessageCard*>& cards() const { return cards_; }
  /// The text of the answer being streamed (empty when none).
  [[nodiscard]] QString streamingText() const { return streaming_text_; }

 signals:
  /// The pointer is over token `token` of message `message` (its index in the session).
  void tokenHovered(int message, int token);

 private:
  MessageCard* addCard(std::shared_ptr<const Message> message);
  void clearCards();
  void renderStreaming();
  void scrollToEnd();

  SessionPtr session_;
  std::shared_ptr<const Projector> projector_;
  QWidget* canvas_ = nullptr;
  QVBoxLayout* layout_ = nullptr;
  QLabel* empty_ = nullptr;
  std::vector<MessageCard*> cards_;
  MessageCard* streaming_ = nullptr;
  QString streaming_text_;
  uint32_t streaming_tokens_ = 0;
  QElapsedTimer streaming_clock_;
  QTimer render_timer_;
};

/// "63 tokens · 25.7 tokens/s · first token 210 ms · stopped: eos" for an answer.
[[nodiscard]] QString answer_footer(const Message& message);

}  // namespace es::ui

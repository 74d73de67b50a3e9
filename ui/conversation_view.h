// The conversation: one card per message (role, time, Markdown-rendered text with its
// code blocks in monospace and a copy button each, attachments as thumbnails, and under
// each answer a footer with tokens, tokens/s and time to first token). The answer being
// generated grows token by token.
#pragma once

#include <QElapsedTimer>
#include <QFrame>
#include <QScrollArea>
#include <QTimer>
#include <vector>

#include "chat_controller.h"

class QLabel;
class QToolButton;
class QVBoxLayout;

namespace es::ui {

/// One message card.
class MessageCard : public QFrame {
  Q_OBJECT

 public:
  MessageCard(const Message& message, QWidget* parent = nullptr);

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
  /// Shows the user's message at once and an empty answer that tokens will fill.
  void beginTurn(const Message& user);
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
  MessageCard* addCard(const Message& message);
  void clearCards();
  void renderStreaming();
  void scrollToEnd();

  SessionPtr session_;
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

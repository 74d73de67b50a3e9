// write_export: every export reaches its file through a temporary file in the same
// folder, fsync and rename, so the destination is the old file or the whole new one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "expertscope/error.h"
#include "expertscope/transcript.h"
#include "transcript_internal.h"

namespace es::transcript {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_io(const fs::path& path, const std::string& what, int err) {
  throw Error(ErrorKind::io, path.string() + ": " + what + " (" + std::strerror(err) + ")");
}

/// Closes a descriptor and removes the temporary file unless released.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// Closes the descriptor; returns errno of a failed close, else 0.
  int close() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }
  /// The file now has its final name: nothing to remove.
  void release() noexcept { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

/// Writes `bytes` to `out` atomically (see write_export).
void write_atomic(const fs::path& out, std::string_view bytes) {
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  std::string pattern = (dir / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) fail_io(out, "cannot create a temporary file in " + dir.string(), errno);
  TempFile temp(fd, pattern);
  // The new file keeps the old one's permissions, or gets rw-r--r--.
  struct stat old {};
  const mode_t mode = ::stat(out.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0644;
  if (::fchmod(fd, mode) != 0) fail_io(out, "cannot set the permissions of " + pattern, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io(out, "writing failed", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail_io(out, "flushing to disk failed", errno);
  if (const int err = temp.close(); err != 0) fail_io(out, "closing failed", err);
  if (::rename(temp.path().c_str(), out.c_str()) != 0)
    fail_io(out, "cannot replace the file", errno);
  temp.release();
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_atomic(const fs::path& out, std::span<const uint8_t> bytes) {
  write_atomic(out, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

/// Writes the attachments of a Markdown export into `dir` (created when needed).
void write_attachments(const Session& session, const fs::path& dir) {
  const auto names = detail::attachment_file_names(session);
  std::set<std::string> written;
  for (size_t m = 0; m < session.messages.size(); ++m) {
    const auto& attachments = session.messages[m].attachments;
    for (size_t a = 0; a < attachments.size(); ++a) {
      const Attachment& att = attachments[a];
      if (att.data.empty() && att.size != 0) continue;  // loaded without its data
      if (!written.insert(names[m][a]).second) continue;
      if (written.size() == 1) {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) {
          throw Error(ErrorKind::io, dir.string() + ": cannot create the attachments folder (" +
                                         ec.message() + ")");
        }
      }
      write_atomic(dir / names[m][a], att.data);
    }
  }
}

}  // namespace

void write_export(const Session& session, Format format, const std::filesystem::path& out) {
  switch (format) {
    case Format::markdown: {
      const std::string dir_name = out.stem().string() + ".files";
      write_attachments(session, out.parent_path() / dir_name);
      write_atomic(out, to_markdown(session, dir_name));
      return;
    }
    case Format::html:
      write_atomic(out, to_html(session));
      return;
    case Format::json:
      write_atomic(out, to_json(session));
      return;
    case Format::csv:
      write_atomic(out, routing_csv(session));
      return;
    case Format::npy:
      write_atomic(out, routing_npy(session));
      return;
    case Format::pdf:
      throw Error(ErrorKind::unsupported,
                  out.string() + ": PDF export needs the Qt front end (this build has none)");
    case Format::unset:
      break;
  }
  throw Error(ErrorKind::usage, out.string() + ": no export format given");
}

}  // namespace es::transcript

// read_file.h
#include "core/read_file.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "expertscope/error.h"

namespace es {

std::string read_whole_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(ErrorKind::io, path.string() + ": no such file");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(ErrorKind::io, path.string() + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, path.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, path.string() + ": read error");
  return std::move(ss).str();
}

}  // namespace es

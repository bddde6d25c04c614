#include "interop/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <mutex>

namespace docfs::interop {
namespace {

thread_local std::string captured;

void keep(google::protobuf::LogLevel, const char*, int, const std::string& message) {
  if (captured.size() < 1024) captured += (captured.empty() ? "" : "; ") + message;
}

}  // namespace

void start_protobuf_log_capture() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(keep); });
  captured.clear();
}

const std::string& protobuf_log_captured() { return captured; }

}  // namespace docfs::interop

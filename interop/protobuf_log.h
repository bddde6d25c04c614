// libprotobuf says why a parse failed only in a log line, through one handler per process.
// Every parser here that wants that reason for its error message uses this one handler
// (two handlers installed by two parsers silently took the lines from each other).
#pragma once

#include <string>

namespace docfs::interop {

// Installs the handler (once) and clears this thread's captured lines.
void start_protobuf_log_capture();
// The lines libprotobuf logged on this thread since the last start (at most ~1 KiB).
const std::string& protobuf_log_captured();

}  // namespace docfs::interop

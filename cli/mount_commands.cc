// Placeholder until fs/ lands: no mount subcommands yet.
#include "cli/command.h"
namespace docfs::cli {
std::vector<Command> mount_commands() { return {}; }
}  // namespace docfs::cli

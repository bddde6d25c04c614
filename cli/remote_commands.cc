// Placeholder until remote/ lands: no remote subcommands yet.
#include "cli/command.h"
namespace docfs::cli {
std::vector<Command> remote_commands() { return {}; }
}  // namespace docfs::cli

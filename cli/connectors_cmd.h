// `retailflow connectors list|describe`: what connectors a configuration defines (or which
// types this build offers), and the operations they declare. See docs/connectors.md.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace rf::cli {

// Adds the `connectors` subcommand to `app`. When it runs, its exit code is stored in `*rc`
// (0 ok, 1 the configured connectors cannot be created, 2 bad usage or an unreadable file).
// `exe_dir` (the running binary's folder) resolves "{exe_dir}" in plugin_dirs, as `serve` does.
void AddConnectorsCommand(CLI::App& app, int* rc, std::string exe_dir);

}  // namespace rf::cli

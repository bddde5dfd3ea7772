// `retailflow test [FILES or folders] [--format text|json|junit] [--coverage]`: runs scenario
// files (.tests) on the real engine in-process (testing/, docs/testing.md).
// Exit codes: 0 every scenario passed, 1 a scenario failed, 2 a scenario file or its flow is
// invalid (nothing of that file runs) or a file cannot be read.
#pragma once

#include <CLI/CLI.hpp>

namespace rf::cli {

void AddTestCommand(CLI::App& app, int* rc);

}  // namespace rf::cli

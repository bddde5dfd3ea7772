// UTF-8 validity (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <string>
#include <string_view>

namespace rf {

bool IsValidUtf8(std::string_view text);

// `text` with every byte outside printable ASCII written as \xNN: safe to put in an error
// message or a log line whatever the input was.
std::string EscapeForMessage(std::string_view text, size_t max_bytes = 80);

}  // namespace rf

// Repository entry points. The engine is being built in steps; operations not
// yet available return kUnimplemented.
#include "vecsafe/repository.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

namespace vecsafe {

std::string_view EncryptionName(Encryption e) {
  return e == Encryption::kAes256Gcm ? "aes-256-gcm" : "none";
}

Result<Encryption> ParseEncryption(std::string_view name) {
  if (name == "none") return Encryption::kNone;
  if (name == "aes-256-gcm") return Encryption::kAes256Gcm;
  return InvalidArgument("unknown encryption '" + std::string(name) + "'",
                         "use --encryption aes-256-gcm or --encryption none");
}

std::string_view EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
  }
  return "file";
}

std::string_view VerifyStatusName(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::kOk:
      return "ok";
    case VerifyStatus::kMissing:
      return "missing";
    case VerifyStatus::kChecksumMismatch:
      return "checksum_mismatch";
    case VerifyStatus::kSizeInvalid:
      return "size_invalid";
    case VerifyStatus::kOther:
      return "other";
  }
  return "other";
}

const FileEntry* Manifest::Find(std::string_view path) const {
  for (const auto& e : entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

namespace {

Result<std::string> PromptPassword(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old_attr{};
  bool restore = tcgetattr(STDIN_FILENO, &old_attr) == 0;
  if (restore) {
    termios no_echo = old_attr;
    no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &no_echo);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_attr);
  std::cerr << "\n";
  if (line.empty()) return Status(ErrorCode::kUnauthenticated, "empty password entered");
  return line;
}

}  // namespace

Result<std::string> GetRepositoryPassword(const PasswordOptions& options) {
  if (const char* env = std::getenv("VECSAFE_PASSWORD"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (const char* file = std::getenv("VECSAFE_PASSWORD_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    if (!in) return ErrnoToStatus(errno, "cannot read VECSAFE_PASSWORD_FILE", file);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      return Status(ErrorCode::kUnauthenticated, std::string("password file ") + file + " is empty",
                    "Put the password on the first line of the file.");
    }
    return line;
  }
  if (options.allow_prompt && isatty(STDIN_FILENO) != 0) {
    VS_ASSIGN_OR_RETURN(std::string first, PromptPassword("repository password: "));
    if (options.confirm) {
      VS_ASSIGN_OR_RETURN(std::string second, PromptPassword("repeat password: "));
      if (first != second) return InvalidArgument("the two passwords differ", "Type it again.");
    }
    return first;
  }
  return Status(ErrorCode::kUnauthenticated, "no repository password given",
                "Set VECSAFE_PASSWORD or VECSAFE_PASSWORD_FILE, or run on a terminal to be "
                "asked.");
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<ObjectStore>,
                                                     const InitOptions&, const OpenOptions&) {
  return Unimplemented("repository init is not available yet");
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<ObjectStore>,
                                                     const OpenOptions&) {
  return Unimplemented("repository open is not available yet");
}

Result<std::unique_ptr<Repository>> OpenRepositoryFromUrl(std::string_view, const OpenOptions&) {
  return Unimplemented("opening a repository from a URL is not available yet");
}

Result<std::unique_ptr<Repository>> InitRepositoryAtUrl(std::string_view, const InitOptions&,
                                                        const OpenOptions&) {
  return Unimplemented("creating a repository at a URL is not available yet");
}

}  // namespace vecsafe

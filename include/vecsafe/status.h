// Status and Result<T>: how every library call reports success or failure.
//
// Library code never throws for expected failures (bad input, I/O, damaged
// data); it returns a [[nodiscard]] Status or Result<T>. Exceptions are kept
// for programmer errors (calling value() on an error Result).
//
// Each Status carries an ErrorCode from the one error table
// (src/base/error_table.inc; docs/errors.md is checked against it by a unit
// test). The code fixes the process exit status and a default HINT; a call
// site may give a more specific hint. Retry meaning follows abseil:
//   kUnavailable        -> retry the same call (network blip, 503, SlowDown)
//   kAborted            -> retry the whole operation higher up (lost a race)
//   kFailedPrecondition -> fix the state first (wrong database state)
//   kDataLoss           -> alert a human (corruption)
#ifndef VECSAFE_STATUS_H_
#define VECSAFE_STATUS_H_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vecsafe {

// The numeric values are a public contract (printed as "VS-<n>", used in
// --json output and docs/errors.md): add new codes, never renumber.
enum class ErrorCode : uint16_t {
#define VECSAFE_ERROR(name, number, exit_status, default_hint) name = number,
#include "vecsafe/error_table.inc"
#undef VECSAFE_ERROR
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;  // e.g. "kNotFound"
  int exit_status;        // process exit status of the CLI for this error
  std::string_view default_hint;
};

// Looks up the table row for `code`. Never fails: unknown codes map to kInternal.
const ErrorInfo& GetErrorInfo(ErrorCode code);
// All rows of the table, in declaration order (used by docs checks and `vecsafe errors`).
const ErrorInfo* ErrorTableBegin();
const ErrorInfo* ErrorTableEnd();

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message, std::string hint = {})
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}

  static Status OK() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The specific hint if one was given, else the table's default hint.
  std::string hint() const;
  int exit_status() const { return GetErrorInfo(code_).exit_status; }

  // "VS-3 not found: snapshot abc123 (HINT: ...)"; "OK" when ok().
  std::string ToString() const;

  // Returns a copy with "context: " prepended to the message (keeps code and hint).
  Status WithContext(std::string_view context) const;
  Status WithHint(std::string hint) const;

  // Explicitly drops a status whose failure does not matter (cleanup paths).
  void IgnoreError() const {}

  bool operator==(const Status& other) const {
    return code_ == other.code_ && message_ == other.message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string hint_;
};

// Convenience constructors, one per common category.
Status InvalidArgument(std::string msg, std::string hint = {});
Status NotFound(std::string msg, std::string hint = {});
Status AlreadyExists(std::string msg, std::string hint = {});
Status FailedPrecondition(std::string msg, std::string hint = {});
Status Unavailable(std::string msg, std::string hint = {});
Status Aborted(std::string msg, std::string hint = {});
Status DataLoss(std::string msg, std::string hint = {});
Status IoError(std::string msg, std::string hint = {});
Status Internal(std::string msg, std::string hint = {});
Status PermissionDenied(std::string msg, std::string hint = {});
Status Unimplemented(std::string msg, std::string hint = {});
Status Cancelled(std::string msg, std::string hint = {});
Status ResourceExhausted(std::string msg, std::string hint = {});

// Maps an errno value from a failed system call on `path` to a Status
// (ENOENT -> kNotFound, ENOSPC -> kNoSpace, EACCES -> kPermissionDenied, ...).
Status ErrnoToStatus(int err, std::string_view what, std::string_view path);

class BadResultAccess : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) {
      throw BadResultAccess("Result constructed from an OK Status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    Check();
    return std::get<T>(v_);
  }
  const T& value() const& {
    Check();
    return std::get<T>(v_);
  }
  T&& value() && {
    Check();
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Check() const {
    if (!ok()) throw BadResultAccess("Result has no value: " + std::get<Status>(v_).ToString());
  }
  std::variant<T, Status> v_;
};

}  // namespace vecsafe

#define VS_CONCAT_INNER_(a, b) a##b
#define VS_CONCAT_(a, b) VS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define VS_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::vecsafe::Status vs_status_ = (expr);      \
    if (!vs_status_.ok()) return vs_status_;    \
  } while (0)

// `VS_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define VS_ASSIGN_OR_RETURN(lhs, expr) \
  VS_ASSIGN_OR_RETURN_IMPL_(VS_CONCAT_(vs_result_, __LINE__), lhs, expr)
#define VS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // VECSAFE_STATUS_H_

#include "vecsafe/status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace vecsafe {
namespace {

constexpr ErrorInfo kTable[] = {
#define VECSAFE_ERROR(name, number, exit_status, default_hint) \
  {ErrorCode::name, #name, exit_status, default_hint},
#include "vecsafe/error_table.inc"
#undef VECSAFE_ERROR
};

std::string_view CategoryWords(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kUnauthenticated: return "authentication failed";
    case ErrorCode::kFailedPrecondition: return "wrong state";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kAborted: return "aborted";
    case ErrorCode::kIoError: return "i/o error";
    case ErrorCode::kNoSpace: return "no space left";
    case ErrorCode::kResourceExhausted: return "resource exhausted";
    case ErrorCode::kDataLoss: return "data damaged";
    case ErrorCode::kRepoNotFound: return "repository not found";
    case ErrorCode::kUnsupportedVersion: return "unsupported version";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kUnimplemented: return "not implemented";
    case ErrorCode::kTimeout: return "timed out";
    case ErrorCode::kInternal: return "internal error";
    case ErrorCode::kIncomplete: return "incomplete";
  }
  return "error";
}

}  // namespace

const ErrorInfo& GetErrorInfo(ErrorCode code) {
  for (const auto& row : kTable) {
    if (row.code == code) return row;
  }
  return GetErrorInfo(ErrorCode::kInternal);
}

const ErrorInfo* ErrorTableBegin() { return std::begin(kTable); }
const ErrorInfo* ErrorTableEnd() { return std::end(kTable); }

std::string Status::hint() const {
  if (!hint_.empty()) return hint_;
  return std::string(GetErrorInfo(code_).default_hint);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = "VS-" + std::to_string(static_cast<int>(code_)) + " ";
  out += CategoryWords(code_);
  out += ": ";
  out += message_;
  const std::string h = hint();
  if (!h.empty()) out += " (HINT: " + h + ")";
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_, hint_);
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  return Status(code_, message_, std::move(hint));
}

Status InvalidArgument(std::string m, std::string h) {
  return {ErrorCode::kInvalidArgument, std::move(m), std::move(h)};
}
Status NotFound(std::string m, std::string h) {
  return {ErrorCode::kNotFound, std::move(m), std::move(h)};
}
Status AlreadyExists(std::string m, std::string h) {
  return {ErrorCode::kAlreadyExists, std::move(m), std::move(h)};
}
Status FailedPrecondition(std::string m, std::string h) {
  return {ErrorCode::kFailedPrecondition, std::move(m), std::move(h)};
}
Status Unavailable(std::string m, std::string h) {
  return {ErrorCode::kUnavailable, std::move(m), std::move(h)};
}
Status Aborted(std::string m, std::string h) {
  return {ErrorCode::kAborted, std::move(m), std::move(h)};
}
Status DataLoss(std::string m, std::string h) {
  return {ErrorCode::kDataLoss, std::move(m), std::move(h)};
}
Status IoError(std::string m, std::string h) {
  return {ErrorCode::kIoError, std::move(m), std::move(h)};
}
Status Internal(std::string m, std::string h) {
  return {ErrorCode::kInternal, std::move(m), std::move(h)};
}
Status PermissionDenied(std::string m, std::string h) {
  return {ErrorCode::kPermissionDenied, std::move(m), std::move(h)};
}
Status Unimplemented(std::string m, std::string h) {
  return {ErrorCode::kUnimplemented, std::move(m), std::move(h)};
}
Status Cancelled(std::string m, std::string h) {
  return {ErrorCode::kCancelled, std::move(m), std::move(h)};
}
Status ResourceExhausted(std::string m, std::string h) {
  return {ErrorCode::kResourceExhausted, std::move(m), std::move(h)};
}

Status ErrnoToStatus(int err, std::string_view what, std::string_view path) {
  std::string msg = std::string(what) + " " + std::string(path) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return {ErrorCode::kNotFound, std::move(msg)};
    case EEXIST:
    case ENOTEMPTY:
      return {ErrorCode::kAlreadyExists, std::move(msg)};
    case EACCES:
    case EPERM:
    case EROFS:
      return {ErrorCode::kPermissionDenied, std::move(msg)};
    case ENOSPC:
    case EDQUOT:
      return {ErrorCode::kNoSpace, std::move(msg)};
    case EINTR:
    case EAGAIN:
      return {ErrorCode::kUnavailable, std::move(msg)};
    case EFBIG:
      return {ErrorCode::kResourceExhausted, std::move(msg),
              "The file size limit was reached (`ulimit -f`, or the filesystem's maximum file "
              "size); raise the limit or use another filesystem."};
    default:
      return {ErrorCode::kIoError, std::move(msg)};
  }
}

}  // namespace vecsafe

// A pickle reader that only reads data.
//
// Chroma keeps each HNSW segment's id maps in `index_metadata.pickle`: a
// pickled `PersistentData` object (0.4 to 0.6, written by Python) or a plain
// dict (1.x, written by Rust). Unpickling with Python would run arbitrary
// code, so this reader interprets only the opcodes that build data: None,
// bools, ints (up to 64 bits), floats, str, bytes, lists, tuples, dicts,
// sets, the memo, framing, and the one class Chroma pickles
// (`...local_persistent_hnsw.PersistentData`), which becomes a
// PickleValue::kObject holding its state. Any other global, persistent ids,
// extension codes and out-of-band buffers are refused with a clear error.
// Nothing is ever executed. Protocols 0 to 5 are accepted.
//
// Opcode reference: CPython Lib/pickletools.py.
#ifndef VECSAFE_SOURCES_CHROMA_SAFE_PICKLE_H_
#define VECSAFE_SOURCES_CHROMA_SAFE_PICKLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vecsafe/status.h"

namespace vecsafe::chroma {

class PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

// One unpickled value. Containers hold shared references because the pickle
// memo may point at the same object twice.
class PickleValue {
 public:
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,  // text (str); bytes of Python 2 `str` land here too
    kBytes,
    kList,
    kTuple,
    kSet,
    kDict,
    kObject,  // an allowed class: `class_name` plus `state` (from BUILD)
  };

  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                         // kString, kBytes
  std::vector<PickleRef> items;                          // kList, kTuple, kSet
  std::vector<std::pair<PickleRef, PickleRef>> entries;  // kDict, in insertion order
  std::string class_name;                                // kObject: "module.Name"
  PickleRef state;                                       // kObject: the BUILD argument

  bool IsNone() const { return kind == Kind::kNone; }
  bool IsInt() const { return kind == Kind::kInt || kind == Kind::kBool; }
  bool IsText() const { return kind == Kind::kString; }
  // For a kDict with text keys: the value of `key`, or nullptr. For a kObject:
  // looks inside its state dict. Linear time; convert big dicts once instead.
  const PickleValue* Get(std::string_view key) const;
  // "dict", "int", ... for messages.
  std::string_view KindName() const;
};

struct PickleLimits {
  // Refuse values nested deeper than this (stack exhaustion guard).
  int max_depth = 64;
  // Refuse more values than this in total (memory guard). Default allows the
  // id maps of several million vectors.
  uint64_t max_values = 64ull * 1024 * 1024;
};

// Parses one pickle from `data` (trailing bytes after STOP are ignored, as
// Python does). Errors: kDataLoss for truncated or malformed input (the
// message names the byte offset and the opcode), kUnimplemented for an opcode
// or class this reader refuses to interpret.
Result<PickleRef> ParsePickle(std::string_view data, const PickleLimits& limits = {});

}  // namespace vecsafe::chroma

#endif  // VECSAFE_SOURCES_CHROMA_SAFE_PICKLE_H_

#include "sources/chroma/safe_pickle.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace vecsafe::chroma {
namespace {

// The only class a Chroma pickle may name: the PersistentData of the local
// HNSW segment (module path differs between releases, the class name does not).
bool AllowedClass(std::string_view module, std::string_view name) {
  return name == "PersistentData" && module.starts_with("chromadb.") &&
         module.ends_with("local_persistent_hnsw");
}

// Marker values on the stack that are not pickle values.
struct Node {
  PickleRef value;
  bool mark = false;
  // A global named by GLOBAL/STACK_GLOBAL: only ever the allowed class.
  std::string global_module;
  std::string global_name;
  bool is_global = false;
};

class Parser {
 public:
  Parser(std::string_view data, const PickleLimits& limits) : data_(data), limits_(limits) {}

  Result<PickleRef> Run() {
    while (true) {
      if (pos_ >= data_.size()) return Truncated("STOP opcode");
      op_pos_ = pos_;
      op_ = static_cast<uint8_t>(data_[pos_++]);
      if (op_ == '.') break;
      VS_RETURN_IF_ERROR(Step());
    }
    if (stack_.size() != 1 || stack_[0].mark || stack_[0].is_global || !stack_[0].value) {
      return Bad("STOP with a stack of " + std::to_string(stack_.size()) +
                 " entries (expected exactly one value)");
    }
    return stack_[0].value;
  }

 private:
  Status Step() {
    switch (op_) {
      // ---- framing and protocol ----
      case 0x80: {  // PROTO
        VS_ASSIGN_OR_RETURN(uint64_t proto, ReadUint(1));
        if (proto > 5) return Unsupported("pickle protocol " + std::to_string(proto));
        return Status::OK();
      }
      case 0x95:  // FRAME: just a length hint for buffered readers.
        return Skip(8);
      // ---- constants ----
      case 'N':
        return Push(Make(PickleValue::Kind::kNone));
      case 0x88:
        return PushBool(true);  // NEWTRUE
      case 0x89:
        return PushBool(false);  // NEWFALSE
      // ---- integers ----
      case 'J': {  // BININT: signed 4 bytes
        VS_ASSIGN_OR_RETURN(uint64_t u, ReadUint(4));
        return PushInt(static_cast<int32_t>(static_cast<uint32_t>(u)));
      }
      case 'K': {  // BININT1
        VS_ASSIGN_OR_RETURN(uint64_t u, ReadUint(1));
        return PushInt(static_cast<int64_t>(u));
      }
      case 'M': {  // BININT2
        VS_ASSIGN_OR_RETURN(uint64_t u, ReadUint(2));
        return PushInt(static_cast<int64_t>(u));
      }
      case 0x8a: {  // LONG1
        VS_ASSIGN_OR_RETURN(uint64_t n, ReadUint(1));
        return PushLong(n);
      }
      case 0x8b: {  // LONG4
        VS_ASSIGN_OR_RETURN(uint64_t n, ReadUint(4));
        return PushLong(n);
      }
      case 'I':    // INT (text; "I00"/"I01" are False/True)
      case 'L': {  // LONG (text, trailing 'L' allowed)
        VS_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
        if (op_ == 'I' && line == "00") return PushBool(false);
        if (op_ == 'I' && line == "01") return PushBool(true);
        if (!line.empty() && line.back() == 'L') line.remove_suffix(1);
        int64_t v = 0;
        VS_RETURN_IF_ERROR(ParseDecimal(line, &v));
        return PushInt(v);
      }
      // ---- floats ----
      case 'G': {  // BINFLOAT: big-endian IEEE 754 double
        VS_ASSIGN_OR_RETURN(std::string_view raw, ReadBytes(8));
        uint64_t u = 0;
        for (char c : raw) u = (u << 8) | static_cast<uint8_t>(c);
        auto v = Make(PickleValue::Kind::kFloat);
        v->f = std::bit_cast<double>(u);
        return Push(std::move(v));
      }
      case 'F': {  // FLOAT (text)
        VS_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
        std::string text(line);
        char* end = nullptr;
        const double d = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) {
          return Bad("FLOAT with text '" + Printable(line) + "'");
        }
        auto v = Make(PickleValue::Kind::kFloat);
        v->f = d;
        return Push(std::move(v));
      }
      // ---- text and bytes ----
      case 0x8c:
        return PushSized(1, PickleValue::Kind::kString);  // SHORT_BINUNICODE
      case 'X':
        return PushSized(4, PickleValue::Kind::kString);  // BINUNICODE
      case 0x8d:
        return PushSized(8, PickleValue::Kind::kString);  // BINUNICODE8
      case 'U':
        return PushSized(1, PickleValue::Kind::kString);  // SHORT_BINSTRING (py2 str)
      case 'T':
        return PushSized(4, PickleValue::Kind::kString);  // BINSTRING (py2 str)
      case 'C':
        return PushSized(1, PickleValue::Kind::kBytes);  // SHORT_BINBYTES
      case 'B':
        return PushSized(4, PickleValue::Kind::kBytes);  // BINBYTES
      case 0x8e:
        return PushSized(8, PickleValue::Kind::kBytes);  // BINBYTES8
      case 0x96:
        return PushSized(8, PickleValue::Kind::kBytes);  // BYTEARRAY8
      case 'V': {  // UNICODE (raw-unicode-escape text); plain ASCII lines only
        VS_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
        if (line.find('\\') != std::string_view::npos) {
          return Unsupported("UNICODE text with escapes");
        }
        auto v = Make(PickleValue::Kind::kString);
        v->s.assign(line);
        return Push(std::move(v));
      }
      // ---- containers ----
      case ']':
        return Push(Make(PickleValue::Kind::kList));  // EMPTY_LIST
      case '}':
        return Push(Make(PickleValue::Kind::kDict));  // EMPTY_DICT
      case ')':
        return Push(Make(PickleValue::Kind::kTuple));  // EMPTY_TUPLE
      case 0x8f:
        return Push(Make(PickleValue::Kind::kSet));  // EMPTY_SET
      case '(': {                                    // MARK
        Node n;
        n.mark = true;
        marks_.push_back(stack_.size());
        stack_.push_back(std::move(n));
        return Status::OK();
      }
      case 'l':
        return CollectToContainer(PickleValue::Kind::kList);  // LIST
      case 't':
        return CollectToContainer(PickleValue::Kind::kTuple);  // TUPLE
      case 0x91:
        return CollectToContainer(PickleValue::Kind::kSet);  // FROZENSET
      case 'd': {                                            // DICT
        VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
        auto d = Make(PickleValue::Kind::kDict);
        VS_RETURN_IF_ERROR(AddPairs(d.get(), items));
        return Push(std::move(d));
      }
      case 0x85:
        return TupleN(1);  // TUPLE1
      case 0x86:
        return TupleN(2);  // TUPLE2
      case 0x87:
        return TupleN(3);  // TUPLE3
      case 'a': {          // APPEND
        VS_ASSIGN_OR_RETURN(PickleRef item, PopValue());
        VS_ASSIGN_OR_RETURN(PickleValue * list, TopMutable(PickleValue::Kind::kList));
        return AddChild(list, std::move(item));
      }
      case 'e': {  // APPENDS
        VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
        VS_ASSIGN_OR_RETURN(PickleValue * list, TopMutable(PickleValue::Kind::kList));
        for (auto& it : items) VS_RETURN_IF_ERROR(AddChild(list, std::move(it)));
        return Status::OK();
      }
      case 0x90: {  // ADDITEMS
        VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
        VS_ASSIGN_OR_RETURN(PickleValue * set, TopMutable(PickleValue::Kind::kSet));
        for (auto& it : items) VS_RETURN_IF_ERROR(AddChild(set, std::move(it)));
        return Status::OK();
      }
      case 's': {  // SETITEM
        VS_ASSIGN_OR_RETURN(PickleRef value, PopValue());
        VS_ASSIGN_OR_RETURN(PickleRef key, PopValue());
        VS_ASSIGN_OR_RETURN(PickleValue * dict, TopMutable(PickleValue::Kind::kDict));
        std::vector<PickleRef> pair{std::move(key), std::move(value)};
        return AddPairs(dict, pair);
      }
      case 'u': {  // SETITEMS
        VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
        VS_ASSIGN_OR_RETURN(PickleValue * dict, TopMutable(PickleValue::Kind::kDict));
        return AddPairs(dict, items);
      }
      // ---- stack ----
      case '0': {  // POP
        if (stack_.empty()) return Bad("POP on an empty stack");
        if (stack_.back().mark) marks_.pop_back();
        stack_.pop_back();
        return Status::OK();
      }
      case '1': {  // POP_MARK
        VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
        (void)items;
        return Status::OK();
      }
      case '2': {  // DUP
        if (stack_.empty() || stack_.back().mark) return Bad("DUP without a value");
        if (stack_.size() >= limits_.max_values) return Bad("stack grows without bound");
        Node copy = stack_.back();
        stack_.push_back(std::move(copy));
        return Status::OK();
      }
      // ---- memo ----
      case 'p': {  // PUT (text index)
        VS_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
        int64_t idx = 0;
        VS_RETURN_IF_ERROR(ParseDecimal(line, &idx));
        return MemoPut(idx);
      }
      case 'q': {  // BINPUT
        VS_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(1));
        return MemoPut(static_cast<int64_t>(idx));
      }
      case 'r': {  // LONG_BINPUT
        VS_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(4));
        return MemoPut(static_cast<int64_t>(idx));
      }
      case 0x94:  // MEMOIZE
        return MemoPut(static_cast<int64_t>(memo_.size()));
      case 'g': {  // GET (text index)
        VS_ASSIGN_OR_RETURN(std::string_view line, ReadLine());
        int64_t idx = 0;
        VS_RETURN_IF_ERROR(ParseDecimal(line, &idx));
        return MemoGet(idx);
      }
      case 'h': {  // BINGET
        VS_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(1));
        return MemoGet(static_cast<int64_t>(idx));
      }
      case 'j': {  // LONG_BINGET
        VS_ASSIGN_OR_RETURN(uint64_t idx, ReadUint(4));
        return MemoGet(static_cast<int64_t>(idx));
      }
      // ---- the one class ----
      case 'c': {  // GLOBAL "module\nname\n"
        VS_ASSIGN_OR_RETURN(std::string_view module, ReadLine());
        VS_ASSIGN_OR_RETURN(std::string_view name, ReadLine());
        return PushGlobal(module, name);
      }
      case 0x93: {  // STACK_GLOBAL
        VS_ASSIGN_OR_RETURN(PickleRef name, PopValue());
        VS_ASSIGN_OR_RETURN(PickleRef module, PopValue());
        if (!name->IsText() || !module->IsText()) return Bad("STACK_GLOBAL with non-text names");
        return PushGlobal(module->s, name->s);
      }
      case 0x81: {  // NEWOBJ: cls args -> cls.__new__(cls, *args)
        VS_ASSIGN_OR_RETURN(PickleRef args, PopValue());
        (void)args;
        return Instantiate();
      }
      case 0x92: {  // NEWOBJ_EX: cls args kwargs
        VS_ASSIGN_OR_RETURN(PickleRef kwargs, PopValue());
        VS_ASSIGN_OR_RETURN(PickleRef args, PopValue());
        (void)kwargs;
        (void)args;
        return Instantiate();
      }
      case 'R': {  // REDUCE: callable args; only the allowed class as callable
        VS_ASSIGN_OR_RETURN(PickleRef args, PopValue());
        (void)args;
        return Instantiate();
      }
      case 'b': {  // BUILD: obj state -> obj.__setstate__(state) / __dict__.update
        VS_ASSIGN_OR_RETURN(PickleRef state, PopValue());
        if (stack_.empty() || stack_.back().mark || stack_.back().is_global ||
            !stack_.back().value || stack_.back().value->kind != PickleValue::Kind::kObject) {
          return Unsupported("BUILD on something that is not an allowed object");
        }
        PickleValue* obj = stack_.back().value.get();
        if (obj->state) return Bad("BUILD applied twice to one object");
        // As for containers: an object already nested elsewhere is complete in
        // every pickle Python writes, and giving it a state now could only
        // build a cycle (state -> ... -> obj) that would never be freed.
        if (frozen_.count(obj) != 0 || state.get() == obj) {
          return Unsupported("BUILD on an object after it was nested (recursive data)");
        }
        VS_RETURN_IF_ERROR(CheckDepth(state.get()));
        obj->state = std::move(state);
        return Status::OK();
      }
      // ---- refused on purpose ----
      case 'P':
        return Unsupported("persistent id (PERSID)");
      case 'Q':
        return Unsupported("persistent id (BINPERSID)");
      case 0x82:
      case 0x83:
      case 0x84:
        return Unsupported("extension registry code (EXT)");
      case 'i':
        return Unsupported("INST (calls a class)");
      case 'o':
        return Unsupported("OBJ (calls a class)");
      case 0x97:
      case 0x98:
        return Unsupported("out-of-band buffer");
      case 'S':
        return Unsupported("STRING (escaped protocol 0 text)");
      default:
        return Bad(fmt::format("unknown opcode 0x{:02x}", op_));
    }
  }

  // ---- reading bytes ----
  Result<std::string_view> ReadBytes(uint64_t n) {
    if (n > data_.size() - pos_) return Truncated(std::to_string(n) + " bytes of argument");
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  Status Skip(uint64_t n) {
    VS_ASSIGN_OR_RETURN(std::string_view ignored, ReadBytes(n));
    (void)ignored;
    return Status::OK();
  }
  Result<uint64_t> ReadUint(int n) {  // little-endian
    VS_ASSIGN_OR_RETURN(std::string_view raw, ReadBytes(n));
    uint64_t u = 0;
    for (int k = n - 1; k >= 0; --k) u = (u << 8) | static_cast<uint8_t>(raw[k]);
    return u;
  }
  Result<std::string_view> ReadLine() {
    const size_t nl = data_.find('\n', pos_);
    if (nl == std::string_view::npos) return Truncated("newline-terminated argument");
    std::string_view line = data_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return line;
  }

  // ---- building values ----
  PickleRef Make(PickleValue::Kind k) {
    auto v = std::make_shared<PickleValue>();
    v->kind = k;
    // Kept alive until the parse ends so that the raw pointers used as keys
    // of depth_ and frozen_ are never reused by a later value.
    all_.push_back(v);
    return v;
  }
  Status Push(PickleRef v) {
    if (++values_ > limits_.max_values) {
      return Status(ErrorCode::kResourceExhausted,
                    "pickle has more than " + std::to_string(limits_.max_values) + " values",
                    "The file is far larger than any Chroma id map; it is probably damaged.");
    }
    Node n;
    n.value = std::move(v);
    stack_.push_back(std::move(n));
    return Status::OK();
  }
  Status PushBool(bool b) {
    auto v = Make(PickleValue::Kind::kBool);
    v->b = b;
    v->i = b ? 1 : 0;
    return Push(std::move(v));
  }
  Status PushInt(int64_t i) {
    auto v = Make(PickleValue::Kind::kInt);
    v->i = i;
    return Push(std::move(v));
  }
  // LONG1/LONG4: n bytes of little-endian two's complement.
  Status PushLong(uint64_t n) {
    VS_ASSIGN_OR_RETURN(std::string_view raw, ReadBytes(n));
    if (n == 0) return PushInt(0);
    if (n > 8) {
      // Python writes the minimal length, so >8 bytes means |value| >= 2^63.
      return Unsupported("integer wider than 64 bits (" + std::to_string(n) + " bytes)");
    }
    uint64_t u = 0;
    for (size_t k = n; k-- > 0;) u = (u << 8) | static_cast<uint8_t>(raw[k]);
    if (n < 8 && (static_cast<uint8_t>(raw[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
    return PushInt(static_cast<int64_t>(u));
  }
  Status PushSized(int len_bytes, PickleValue::Kind k) {
    VS_ASSIGN_OR_RETURN(uint64_t n, ReadUint(len_bytes));
    VS_ASSIGN_OR_RETURN(std::string_view raw, ReadBytes(n));
    auto v = Make(k);
    v->s.assign(raw);
    return Push(std::move(v));
  }
  Status PushGlobal(std::string_view module, std::string_view name) {
    if (!AllowedClass(module, name)) {
      return Unsupported("global " + Printable(module) + "." + Printable(name) +
                         " (only Chroma's PersistentData is read)");
    }
    Node n;
    n.is_global = true;
    n.global_module.assign(module);
    n.global_name.assign(name);
    stack_.push_back(std::move(n));
    return Status::OK();
  }
  // Replaces the allowed class on top of the stack by an (empty) instance.
  Status Instantiate() {
    if (stack_.empty() || !stack_.back().is_global ||
        !AllowedClass(stack_.back().global_module, stack_.back().global_name)) {
      return Unsupported("object construction of something that is not an allowed class");
    }
    const std::string cls = stack_.back().global_module + "." + stack_.back().global_name;
    stack_.pop_back();
    auto obj = Make(PickleValue::Kind::kObject);
    obj->class_name = cls;
    return Push(std::move(obj));
  }

  // ---- stack helpers ----
  Result<PickleRef> PopValue() {
    if (stack_.empty()) return Bad("a value was needed but the stack is empty");
    Node& top = stack_.back();
    if (top.mark) return Bad("a value was needed but found a MARK");
    if (top.is_global) return Unsupported("a class used as a plain value");
    PickleRef v = top.value;
    stack_.pop_back();
    return v;
  }
  Result<std::vector<PickleRef>> PopToMark() {
    if (marks_.empty()) return Bad("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items;
    items.reserve(stack_.size() - m - 1);
    for (size_t k = m + 1; k < stack_.size(); ++k) {
      if (stack_[k].is_global) return Unsupported("a class used as a plain value");
      items.push_back(std::move(stack_[k].value));
    }
    stack_.resize(m);
    return items;
  }
  Result<PickleValue*> TopMutable(PickleValue::Kind want) {
    if (stack_.empty() || stack_.back().mark || stack_.back().is_global) {
      return Bad("container operation without a container");
    }
    PickleValue* v = stack_.back().value.get();
    if (v->kind != want) {
      return Bad(std::string("container operation on a ") + std::string(v->KindName()));
    }
    if (frozen_.count(v) != 0) {
      // A container already placed inside another one is complete in every
      // pickle Python writes; changing it now would only serve to make cycles.
      return Unsupported("changing a container after it was nested (recursive data)");
    }
    return v;
  }
  Status CheckDepth(const PickleValue* child) {
    const auto it = depth_.find(child);
    const int d = it == depth_.end() ? 0 : it->second;
    if (d + 1 > limits_.max_depth) {
      return Status(ErrorCode::kResourceExhausted,
                    "pickle nests deeper than " + std::to_string(limits_.max_depth) + " levels",
                    "Chroma's id maps are two levels deep; the file is probably damaged.");
    }
    frozen_.insert(child);
    return Status::OK();
  }
  Status AddChild(PickleValue* parent, PickleRef child) {
    if (child.get() == parent) return Unsupported("a container that contains itself");
    VS_RETURN_IF_ERROR(CheckDepth(child.get()));
    int& pd = depth_[parent];
    pd = std::max(pd, Depth(child.get()) + 1);
    parent->items.push_back(std::move(child));
    return Status::OK();
  }
  int Depth(const PickleValue* v) const {
    const auto it = depth_.find(v);
    return it == depth_.end() ? 0 : it->second;
  }
  Status AddPairs(PickleValue* dict, std::vector<PickleRef>& items) {
    if (items.size() % 2 != 0) return Bad("odd number of items for a dict");
    for (size_t k = 0; k < items.size(); k += 2) {
      if (items[k].get() == dict || items[k + 1].get() == dict) {
        return Unsupported("a dict that contains itself");
      }
      VS_RETURN_IF_ERROR(CheckDepth(items[k].get()));
      VS_RETURN_IF_ERROR(CheckDepth(items[k + 1].get()));
      int& pd = depth_[dict];
      pd = std::max({pd, Depth(items[k].get()) + 1, Depth(items[k + 1].get()) + 1});
      dict->entries.emplace_back(std::move(items[k]), std::move(items[k + 1]));
    }
    return Status::OK();
  }
  Status CollectToContainer(PickleValue::Kind k) {
    VS_ASSIGN_OR_RETURN(std::vector<PickleRef> items, PopToMark());
    auto c = Make(k);
    for (auto& it : items) VS_RETURN_IF_ERROR(AddChild(c.get(), std::move(it)));
    return Push(std::move(c));
  }
  Status TupleN(size_t n) {
    if (stack_.size() < n) return Bad("TUPLE" + std::to_string(n) + " needs more values");
    std::vector<PickleRef> items(n);
    for (size_t k = n; k-- > 0;) {
      VS_ASSIGN_OR_RETURN(items[k], PopValue());
    }
    auto t = Make(PickleValue::Kind::kTuple);
    for (auto& it : items) VS_RETURN_IF_ERROR(AddChild(t.get(), std::move(it)));
    return Push(std::move(t));
  }
  Status MemoPut(int64_t idx) {
    if (stack_.empty() || stack_.back().mark) return Bad("memo store without a value");
    if (idx < 0) return Bad("negative memo index");
    memo_[idx] = stack_.back();
    return Status::OK();
  }
  Status MemoGet(int64_t idx) {
    const auto it = memo_.find(idx);
    if (it == memo_.end()) return Bad("memo index " + std::to_string(idx) + " was never stored");
    if (stack_.size() >= limits_.max_values) return Bad("stack grows without bound");
    stack_.push_back(it->second);
    return Status::OK();
  }

  Status ParseDecimal(std::string_view text, int64_t* out) {
    if (text.empty() || text.size() > 20) return Bad("bad integer text '" + Printable(text) + "'");
    bool neg = false;
    size_t k = 0;
    if (text[0] == '-' || text[0] == '+') {
      neg = text[0] == '-';
      k = 1;
    }
    if (k == text.size()) return Bad("bad integer text '" + Printable(text) + "'");
    uint64_t v = 0;
    for (; k < text.size(); ++k) {
      if (text[k] < '0' || text[k] > '9') return Bad("bad integer text '" + Printable(text) + "'");
      const uint64_t next = v * 10 + static_cast<uint64_t>(text[k] - '0');
      if (next / 10 != v || next > (uint64_t{1} << 63)) {
        return Unsupported("integer wider than 64 bits");
      }
      v = next;
    }
    if (!neg && v > static_cast<uint64_t>(INT64_MAX))
      return Unsupported("integer wider than 64 bits");
    *out = neg ? static_cast<int64_t>(~v + 1) : static_cast<int64_t>(v);
    return Status::OK();
  }

  static std::string Printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 60)) {
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (s.size() > 60) out += "...";
    return out;
  }
  Status Bad(const std::string& what) const {
    return DataLoss(
        fmt::format("malformed pickle at byte {} (opcode 0x{:02x}): {}", op_pos_, op_, what),
        "The file is damaged; check's finding names the segment to rebuild or "
        "restore from a backup.");
  }
  Status Truncated(const std::string& what) const {
    return DataLoss(fmt::format("pickle ends at byte {} while reading {} (file truncated?)",
                                data_.size(), what),
                    "The file is truncated; restore it from a backup or rebuild the segment.");
  }
  Status Unsupported(const std::string& what) const {
    return Unimplemented(
        fmt::format("pickle at byte {} uses {}, which this reader refuses to interpret", op_pos_,
                    what),
        "Only Chroma's own index_metadata.pickle is read; a file with other content was not "
        "written by Chroma.");
  }

  std::string_view data_;
  PickleLimits limits_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  uint64_t values_ = 0;
  std::vector<Node> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<int64_t, Node> memo_;
  std::vector<PickleRef> all_;
  std::unordered_set<const PickleValue*> frozen_;
  std::unordered_map<const PickleValue*, int> depth_;
};

}  // namespace

const PickleValue* PickleValue::Get(std::string_view key) const {
  if (kind == Kind::kObject) return state ? state->Get(key) : nullptr;
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k->kind == Kind::kString && k->s == key) return v.get();
  }
  return nullptr;
}

std::string_view PickleValue::KindName() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kSet:
      return "set";
    case Kind::kDict:
      return "dict";
    case Kind::kObject:
      return "object";
  }
  return "?";
}

Result<PickleRef> ParsePickle(std::string_view data, const PickleLimits& limits) {
  if (data.empty()) {
    return DataLoss("pickle is empty (0 bytes)",
                    "The file was truncated to nothing; restore it from a backup or rebuild "
                    "the segment.");
  }
  Parser p(data, limits);
  return p.Run();
}

}  // namespace vecsafe::chroma

#include "repo/pack.h"

#include <cstring>

#include "repo/format.h"

namespace vecsafe::repo {
namespace {

constexpr std::string_view kHeaderMagic = "VSPH";
constexpr std::string_view kHeaderAad = "vecsafe pack header";
constexpr size_t kEntrySize = 32 + 8 + 4 + 4 + 1;

Status Damaged(std::string_view detail) {
  return DataLoss("pack is damaged: " + std::string(detail),
                  "Run `vecsafe verify --read-data` to see which snapshots and files are "
                  "affected.");
}

}  // namespace

void PackWriter::Add(const Hash256& id, std::string_view stored, uint32_t raw_length,
                     uint8_t encoding, const Hash256* base) {
  PackEntry e;
  if (base != nullptr) e.base = *base;
  e.id = id;
  e.offset = buf_.size();
  e.length = static_cast<uint32_t>(stored.size());
  e.raw_length = raw_length;
  e.encoding = encoding;
  buf_.append(stored);
  entries_.push_back(e);
}

std::string EncodePackHeader(const std::vector<PackEntry>& entries) {
  size_t deltas = 0;
  for (const auto& e : entries) deltas += e.is_delta() ? 1 : 0;
  std::string h;
  h.reserve(4 + 1 + 4 + entries.size() * kEntrySize + deltas * 32 + 32);
  h.append(kHeaderMagic);
  h.push_back(deltas == 0 ? 1 : 2);
  PutU32(&h, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    h.append(AsStringView(e.id));
    PutU64(&h, e.offset);
    PutU32(&h, e.length);
    PutU32(&h, e.raw_length);
    h.push_back(static_cast<char>(e.encoding));
    if (e.is_delta()) h.append(AsStringView(e.base));
  }
  Hash256 sum = Sha256(h);
  h.append(AsStringView(sum));
  return h;
}

Result<std::string> PackWriter::Finish(const std::optional<Key256>& data_key, Hash256* pack_id) {
  std::string header = EncodePackHeader(entries_);
  std::string out = std::move(buf_);
  size_t before = out.size();
  if (data_key.has_value()) {
    VS_RETURN_IF_ERROR(AesGcmSeal(*data_key, header.data(), header.size(), kHeaderAad, &out));
  } else {
    out.append(header);
  }
  *pack_id = Sha256(std::string_view(out).substr(before));
  PutU32(&out, static_cast<uint32_t>(out.size() - before));
  out.append(kPackMagic, 8);
  buf_.clear();
  entries_.clear();
  return out;
}

Result<std::vector<PackEntry>> ParsePackHeader(std::string_view h, uint64_t data_end) {
  if (h.size() < 4 + 1 + 4 + 32) return Damaged("header too short");
  if (h.substr(0, 4) != kHeaderMagic) return Damaged("bad header magic");
  const auto version = static_cast<uint8_t>(h[4]);
  if (version != 1 && version != 2) return Damaged("unknown header version");
  uint32_t count = GetU32(h.data() + 5);
  if (count > kMaxPackEntries) return Damaged("too many entries");
  const size_t fixed = 9 + static_cast<size_t>(count) * kEntrySize + 32;
  // Version 2 entries of deltas carry 32 more bytes each.
  if (version == 1
          ? h.size() != fixed
          : h.size() < fixed || (h.size() - fixed) % 32 != 0 || (h.size() - fixed) / 32 > count) {
    return Damaged("header size does not match its entry count");
  }
  Hash256 sum = Sha256(h.substr(0, h.size() - 32));
  if (std::memcmp(sum.data(), h.data() + h.size() - 32, 32) != 0) {
    return Damaged("header checksum mismatch");
  }
  std::vector<PackEntry> out(count);
  const char* p = h.data() + 9;
  const char* end = h.data() + h.size() - 32;
  for (uint32_t i = 0; i < count; ++i) {
    if (static_cast<size_t>(end - p) < kEntrySize) {
      return Damaged("header size does not match its entries");
    }
    PackEntry& e = out[i];
    std::memcpy(e.id.data(), p, 32);
    e.offset = GetU64(p + 32);
    e.length = GetU32(p + 40);
    e.raw_length = GetU32(p + 44);
    e.encoding = static_cast<uint8_t>(p[48]);
    p += kEntrySize;
    if (e.offset > data_end || e.length > data_end - e.offset) {
      return Damaged("blob " + std::to_string(i) + " lies outside the pack");
    }
    if (e.is_delta()) {
      if (version == 1) return Damaged("a delta entry in a version 1 header");
      if (end - p < 32) return Damaged("header size does not match its entries");
      std::memcpy(e.base.data(), p, 32);
      p += 32;
      if (e.base == e.id) return Damaged("blob " + std::to_string(i) + " is its own base");
    }
  }
  if (p != end) return Damaged("header size does not match its entries");
  // Writers use version 2 only for headers with deltas: one form per header.
  if (version == 2 && h.size() == fixed) return Damaged("a version 2 header without deltas");
  return out;
}

Result<uint32_t> ParsePackTail(std::string_view tail, uint64_t pack_size) {
  if (tail.size() != kPackTailSize || pack_size < kPackTailSize) {
    return Damaged("too short for a pack tail");
  }
  if (std::memcmp(tail.data() + 4, kPackMagic, 8) != 0) return Damaged("bad pack magic");
  uint32_t len = GetU32(tail.data());
  if (len > pack_size - kPackTailSize) return Damaged("header length beyond the pack");
  return len;
}

Result<std::vector<PackEntry>> ParsePackSuffix(std::string_view suffix, uint64_t pack_size,
                                               const std::optional<Key256>& data_key) {
  if (suffix.size() < kPackTailSize || suffix.size() > pack_size) {
    return Damaged("too short for a pack tail");
  }
  VS_ASSIGN_OR_RETURN(uint32_t len,
                      ParsePackTail(suffix.substr(suffix.size() - kPackTailSize), pack_size));
  if (len > suffix.size() - kPackTailSize) return Damaged("header not in the bytes read");
  std::string_view sealed = suffix.substr(suffix.size() - kPackTailSize - len, len);
  uint64_t data_end = pack_size - kPackTailSize - len;
  if (!data_key.has_value()) return ParsePackHeader(sealed, data_end);
  std::string plain;
  if (!AesGcmOpen(*data_key, sealed, kHeaderAad, &plain).ok()) {
    return Damaged("header fails authentication");
  }
  return ParsePackHeader(plain, data_end);
}

}  // namespace vecsafe::repo

#include "repo/index.h"

#include <nlohmann/json.hpp>

namespace vecsafe::repo {
namespace {

Status Bad(std::string_view detail) {
  return DataLoss("index object is damaged: " + std::string(detail),
                  "Run `vecsafe prune` to rebuild the index from the packs, then "
                  "`vecsafe verify`.");
}

Result<Hash256> HashField(const nlohmann::json& j, const char* name) {
  const auto& v = j.at(name);
  if (!v.is_string()) return Bad(std::string(name) + " is not a string");
  auto h = ParseHash256(v.get<std::string>());
  if (!h.ok()) return Bad(std::string("bad ") + name);
  return *h;
}

}  // namespace

std::string EncodeIndexJson(const IndexFile& index) {
  // Written by hand: nlohmann's DOM costs ~10x more for big indexes.
  std::string out = "{\"version\":1,\"supersedes\":[";
  for (size_t i = 0; i < index.supersedes.size(); ++i) {
    if (i) out += ',';
    out += '"' + HexEncode(index.supersedes[i]) + '"';
  }
  out += "],\"packs\":[";
  for (size_t p = 0; p < index.packs.size(); ++p) {
    const IndexPack& pack = index.packs[p];
    if (p) out += ',';
    out += "\n{\"id\":\"" + HexEncode(pack.id) + "\",\"size\":" + std::to_string(pack.size) +
           ",\"blobs\":[";
    for (size_t b = 0; b < pack.blobs.size(); ++b) {
      const PackEntry& e = pack.blobs[b];
      if (b) out += ',';
      out += "\n{\"id\":\"" + HexEncode(e.id) + "\",\"offset\":" + std::to_string(e.offset) +
             ",\"length\":" + std::to_string(e.length) +
             ",\"raw_length\":" + std::to_string(e.raw_length) +
             ",\"encoding\":" + std::to_string(e.encoding);
      if (e.is_delta()) out += ",\"base\":\"" + HexEncode(e.base) + '"';
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

Result<IndexFile> ParseIndexJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  try {
    if (!j.at("version").is_number_integer() || j.at("version").get<int>() != 1) {
      return Bad("unknown version");
    }
    IndexFile out;
    for (const auto& s : j.value("supersedes", nlohmann::json::array())) {
      if (!s.is_string()) return Bad("bad supersedes entry");
      auto h = ParseHash256(s.get<std::string>());
      if (!h.ok()) return Bad("bad supersedes entry");
      out.supersedes.push_back(*h);
    }
    const auto& packs = j.at("packs");
    if (!packs.is_array()) return Bad("packs is not an array");
    out.packs.reserve(packs.size());
    for (const auto& p : packs) {
      IndexPack ip;
      VS_ASSIGN_OR_RETURN(ip.id, HashField(p, "id"));
      ip.size = p.at("size").get<uint64_t>();
      const auto& blobs = p.at("blobs");
      if (!blobs.is_array()) return Bad("blobs is not an array");
      ip.blobs.reserve(blobs.size());
      for (const auto& b : blobs) {
        PackEntry e;
        VS_ASSIGN_OR_RETURN(e.id, HashField(b, "id"));
        e.offset = b.at("offset").get<uint64_t>();
        e.length = b.at("length").get<uint32_t>();
        e.raw_length = b.at("raw_length").get<uint32_t>();
        e.encoding = b.value("encoding", static_cast<uint8_t>(0));
        if (e.is_delta()) {
          VS_ASSIGN_OR_RETURN(e.base, HashField(b, "base"));
          if (e.base == e.id) return Bad("a chunk is its own delta base");
        }
        if (e.offset > ip.size || e.length > ip.size - e.offset) {
          return Bad("blob lies outside its pack");
        }
        ip.blobs.push_back(e);
      }
      out.packs.push_back(std::move(ip));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Bad(e.what());
  }
}

void MasterIndex::AddPack(const IndexPack& pack) {
  if (pack_pos_.count(pack.id) != 0) return;  // listed by two index files
  uint32_t pos = static_cast<uint32_t>(packs_.size());
  packs_.push_back(pack);
  pack_pos_[pack.id] = pos;
  for (const auto& e : pack.blobs) {
    const bool added =
        blobs_.try_emplace(e.id, BlobLocation{pos, e.length, e.raw_length, e.offset}).second;
    if (added && e.is_delta()) bases_.emplace(e.id, e.base);
  }
}

const BlobLocation* MasterIndex::Find(const Hash256& chunk) const {
  auto it = blobs_.find(chunk);
  return it == blobs_.end() ? nullptr : &it->second;
}

const Hash256* MasterIndex::BaseOf(const Hash256& chunk) const {
  auto it = bases_.find(chunk);
  return it == bases_.end() ? nullptr : &it->second;
}

}  // namespace vecsafe::repo

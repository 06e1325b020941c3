// Index settings of a collection, as each Chroma version stores them, and
// the create request that recreates them. The stored strings are copied from
// folders written by Chroma 0.6.3, 1.0.21 and 1.5.9 (collections created with
// configuration={"hnsw": {"space": "cosine", "ef_construction": 150,
// "ef_search": 40, "max_neighbors": 24, ...}} and the default embedding
// function).
#include <gtest/gtest.h>

#include "sources/chroma/chroma_model.h"
#include "sources/chroma/collection_backup.h"

namespace vecsafe::chroma {
namespace {

using nlohmann::json;

const json kConfig063 = json::parse(
    R"({"hnsw_configuration": {"space": "l2", "ef_construction": 100, "ef_search": 100,
        "num_threads": 2, "M": 16, "resize_factor": 1.2, "batch_size": 100,
        "sync_threshold": 1000, "_type": "HNSWConfigurationInternal"},
        "_type": "CollectionConfigurationInternal"})");
const json kConfig1021 = json::parse(
    R"({"vector_index":{"hnsw":{"space":"cosine","ef_construction":150,"ef_search":40,
        "max_neighbors":24,"resize_factor":1.5,"sync_threshold":500}},
        "embedding_function":{"type":"known","name":"default","config":{}}})");
const json kSchema159 = json::parse(
    R"({"defaults":{"float_list":{"vector_index":{"enabled":false,"config":{"space":"cosine",
        "hnsw":{"ef_construction":150,"max_neighbors":24,"ef_search":40}}}}},
        "keys":{"#document":{"string":{"fts_index":{"enabled":true,"config":{}}}},
        "#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"cosine",
        "embedding_function":{"type":"known","name":"default","config":{}},
        "source_key":"#document","hnsw":{"ef_construction":150,"max_neighbors":24,
        "ef_search":40,"num_threads":2,"batch_size":100,"sync_threshold":500,
        "resize_factor":1.5}}}}}}})");

TEST(ReadIndexSettings, Chroma10StoresTheConfigurationUnderVectorIndex) {
  const IndexSettings s = ReadIndexSettings(kConfig1021, nullptr);
  EXPECT_TRUE(s.authoritative);
  EXPECT_EQ(s.space, "cosine");
  EXPECT_EQ(s.hnsw, json::parse(R"({"space":"cosine","ef_construction":150,"ef_search":40,
      "max_neighbors":24,"resize_factor":1.5,"sync_threshold":500})"));
  EXPECT_TRUE(s.spann.is_null());
  EXPECT_EQ(s.embedding_function["name"], "default");
}

TEST(ReadIndexSettings, Chroma15StoresItInTheSchema) {
  // config_json_str is "{}" there: everything comes from schema_str.
  const IndexSettings s = ReadIndexSettings(json::object(), kSchema159);
  EXPECT_TRUE(s.authoritative);
  EXPECT_EQ(s.space, "cosine");
  EXPECT_EQ(s.hnsw["max_neighbors"], 24);
  EXPECT_EQ(s.hnsw["space"], "cosine");
  EXPECT_EQ(s.hnsw["sync_threshold"], 500);
  EXPECT_FALSE(s.hnsw.contains("source_key"));
  EXPECT_EQ(s.embedding_function["type"], "known");
}

TEST(ReadIndexSettings, Chroma06NamesMAndIsNotAuthoritative) {
  const IndexSettings s = ReadIndexSettings(kConfig063, nullptr);
  EXPECT_FALSE(s.authoritative);
  EXPECT_EQ(s.space, "l2");
  EXPECT_EQ(s.hnsw["max_neighbors"], 16);
  EXPECT_FALSE(s.hnsw.contains("M"));
  EXPECT_FALSE(s.hnsw.contains("_type"));
}

TEST(CollectionDataSpace, TheSchemaDecidesOverTheMetadata) {
  CollectionData d;
  d.configuration = json::object();
  d.schema = kSchema159;
  EXPECT_EQ(d.Space(), "cosine");
  d.metadata = {{"hnsw:space", "ip"}};  // 1.x builds the index from the schema
  EXPECT_EQ(d.Space(), "cosine");
  d.schema = nullptr;
  d.configuration = kConfig063;  // 0.6: the metadata decides
  EXPECT_EQ(d.Space(), "ip");
}

TEST(MakeCreateRequest, SchemaForChroma1WithTheConfigurationAsFallback) {
  CollectionData d;
  d.metadata = {{"owner", "team-a"}};
  d.configuration = json::object();
  d.schema = kSchema159;
  const CreateRequest r = MakeCreateRequest(d, 2);
  EXPECT_EQ(r.metadata, d.metadata);
  EXPECT_EQ(r.settings, json({{"schema", kSchema159}}));
  EXPECT_EQ(r.fallback["configuration"]["hnsw"]["ef_construction"], 150);
  EXPECT_EQ(r.fallback["configuration"]["embedding_function"]["name"], "default");
}

TEST(MakeCreateRequest, ConfigurationFromChroma10) {
  CollectionData d;
  d.configuration = kConfig1021;
  const CreateRequest r = MakeCreateRequest(d, 2);
  EXPECT_TRUE(r.metadata.empty());  // no hnsw:* keys added: the configuration says it all
  EXPECT_EQ(r.settings["configuration"]["hnsw"]["max_neighbors"], 24);
  EXPECT_EQ(r.settings["configuration"]["hnsw"]["space"], "cosine");
  EXPECT_TRUE(r.fallback.empty());
}

TEST(MakeCreateRequest, LegacyMetadataForOldSourcesAndOldServers) {
  CollectionData d;
  d.metadata = {{"hnsw:space", "cosine"}, {"hnsw:sync_threshold", 500}};
  d.configuration = kConfig063;
  const CreateRequest r = MakeCreateRequest(d, 2);
  EXPECT_TRUE(r.settings.empty());
  EXPECT_EQ(r.metadata["hnsw:space"], "cosine");
  // 0.6's configuration holds defaults; its metadata decided: kept as it was.
  EXPECT_EQ(r.metadata, d.metadata);
  EXPECT_EQ(MakeCreateRequest(d, 1).metadata, d.metadata);
  // A 1.x collection into a 0.4-0.6 server: the same parameters as metadata.
  CollectionData n;
  n.configuration = kConfig1021;
  const CreateRequest v1 = MakeCreateRequest(n, 1);
  EXPECT_TRUE(v1.settings.empty());
  EXPECT_EQ(v1.metadata, json::parse(R"({"hnsw:space":"cosine","hnsw:construction_ef":150,
      "hnsw:search_ef":40,"hnsw:M":24,"hnsw:resize_factor":1.5,"hnsw:sync_threshold":500})"));
}

}  // namespace
}  // namespace vecsafe::chroma

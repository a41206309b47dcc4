// InstanceCache: the preflight's copy of committed instance rows.
#include "engine/instance_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace treaty::engine {
namespace {

std::shared_ptr<const InstanceRow> Row(const std::string& id, int64_t position, bool final = false) {
  auto r = std::make_shared<InstanceRow>();
  r->id = id;
  r->position = position;
  r->final = final;
  r->states_json = "[\"s" + std::to_string(position) + "\"]";
  return r;
}

TEST(InstanceCache, ReturnsTheLatestPublishedRowAndMissesTheRest) {
  InstanceCache cache(8);
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Publish(Row("a", 0));
  cache.Publish(Row("a", 1));
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("a")->position, 1);
  EXPECT_EQ(cache.Get("a")->states_json, "[\"s1\"]");
  EXPECT_EQ(cache.Get("b"), nullptr);
}

TEST(InstanceCache, AnOlderRowNeverReplacesALaterOne) {
  InstanceCache cache(8);
  cache.Publish(Row("a", 3));
  cache.Publish(Row("a", 2));
  EXPECT_EQ(cache.Get("a")->position, 3);
}

TEST(InstanceCache, AFinalInstanceLeaves) {
  InstanceCache cache(8);
  cache.Publish(Row("a", 1));
  cache.Publish(Row("a", 2, /*final=*/true));
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Publish(Row("b", 0, /*final=*/true));  // started final: never cached
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(InstanceCache, HoldsAtMostItsCapacityAndDropsTheOldestFirst) {
  InstanceCache cache(3);
  for (int i = 0; i < 5; ++i) cache.Publish(Row("i" + std::to_string(i), 0));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Get("i0"), nullptr);
  EXPECT_EQ(cache.Get("i1"), nullptr);
  EXPECT_NE(cache.Get("i4"), nullptr);
  // Ids that left as final do not keep the cache from holding new rows,
  // and the bookkeeping of ids stays bounded.
  for (int i = 0; i < 100; ++i) {
    cache.Publish(Row("f" + std::to_string(i), 0));
    cache.Publish(Row("f" + std::to_string(i), 1, /*final=*/true));
  }
  cache.Publish(Row("x", 0));
  EXPECT_NE(cache.Get("x"), nullptr);
  EXPECT_LE(cache.size(), 3u);
}

TEST(InstanceCache, ZeroCapacityCachesNothing) {
  InstanceCache cache(0);
  cache.Publish(Row("a", 0));
  EXPECT_EQ(cache.Get("a"), nullptr);
}

}  // namespace
}  // namespace treaty::engine

// InstanceCache: the preflight's copy of committed instance rows.
#include "engine/instance_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace treaty::engine {
namespace {

std::shared_ptr<const InstanceRow> Row(const std::string& id, int64_t position, bool final = false,
                                       size_t data_bytes = 10) {
  auto r = std::make_shared<InstanceRow>();
  r->id = id;
  r->position = position;
  r->final = final;
  r->states_json = "[\"s" + std::to_string(position) + "\"]";
  r->data_json = std::string(data_bytes, 'd');
  return r;
}

const size_t kRow = InstanceCache::SizeOf(*Row("i0", 0));  // ids of equal length, equal size

TEST(InstanceCache, ReturnsTheLatestPublishedRowAndMissesTheRest) {
  InstanceCache cache(1 << 20, 1 << 16);
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Publish(Row("a", 0));
  cache.Publish(Row("a", 1));
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("a")->position, 1);
  EXPECT_EQ(cache.Get("a")->states_json, "[\"s1\"]");
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), InstanceCache::SizeOf(*Row("a", 1)));
}

TEST(InstanceCache, AnOlderRowNeverReplacesALaterOne) {
  InstanceCache cache(1 << 20, 1 << 16);
  cache.Publish(Row("a", 3));
  cache.Publish(Row("a", 2));
  EXPECT_EQ(cache.Get("a")->position, 3);
}

TEST(InstanceCache, AFinalInstanceLeaves) {
  InstanceCache cache(1 << 20, 1 << 16);
  cache.Publish(Row("a", 1));
  cache.Publish(Row("a", 2, /*final=*/true));
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Publish(Row("b", 0, /*final=*/true));  // started final: never cached
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(InstanceCache, ARowOverTheLimitIsNotKeptAndDropsItsOlderCopy) {
  InstanceCache cache(1 << 20, 1000);
  cache.Publish(Row("a", 0, false, 10));
  ASSERT_NE(cache.Get("a"), nullptr);
  cache.Publish(Row("a", 1, false, 5000));  // grew past the limit: the old copy must not stay
  EXPECT_EQ(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(InstanceCache, HoldsAtMostItsBudgetAndDropsTheOldestFirst) {
  InstanceCache cache(3 * kRow, 1 << 16);
  for (int i = 0; i < 5; ++i) cache.Publish(Row("i" + std::to_string(i), 0));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_LE(cache.bytes(), 3 * kRow);
  EXPECT_EQ(cache.Get("i0"), nullptr);
  EXPECT_EQ(cache.Get("i1"), nullptr);
  EXPECT_NE(cache.Get("i4"), nullptr);
  // Ids that left as final do not keep the cache from holding new rows.
  for (int i = 0; i < 1000; ++i) {
    cache.Publish(Row("f" + std::to_string(i), 0));
    cache.Publish(Row("f" + std::to_string(i), 1, /*final=*/true));
  }
  cache.Publish(Row("i9", 0));
  EXPECT_NE(cache.Get("i9"), nullptr);
  EXPECT_LE(cache.bytes(), 3 * kRow);
}

TEST(InstanceCache, PublishersAndReadersOnSeveralThreads) {
  InstanceCache cache(1 << 20, 1 << 16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (int pos = 0; pos < 2000; ++pos) {
        cache.Publish(Row("shared", pos));
        cache.Publish(Row("own" + std::to_string(t), pos));
        auto r = cache.Get("shared");
        ASSERT_NE(r, nullptr);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.Get("shared")->position, 1999);  // the latest, whichever thread published last
  for (int t = 0; t < 4; ++t) EXPECT_EQ(cache.Get("own" + std::to_string(t))->position, 1999);
}

}  // namespace
}  // namespace treaty::engine

package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// wordCache memoises BPE results per word. It is sharded to keep lock contention low when many
// goroutines encode at once; a full shard is emptied rather than evicted entry by entry. It never
// changes results, only their cost.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards     = 32
	cacheShardLimit = 8192 // entries per shard
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	s := c.shard(word)
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

// put stores a copy of ids under a copy of word (which may point into a large text) and returns
// the stored copy.
func (c *wordCache) put(word string, ids []int32) []int32 {
	s := c.shard(word)
	v := append([]int32(nil), ids...)
	s.mu.Lock()
	if len(s.m) >= cacheShardLimit {
		s.m = make(map[string][]int32)
	}
	s.m[strings.Clone(word)] = v
	s.mu.Unlock()
	return v
}

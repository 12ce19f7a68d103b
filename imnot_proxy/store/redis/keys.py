"""Key names and Lua scripts of the Redis store.

Every key starts with ``{prefix}:`` (a Redis Cluster hash tag, so multi-key scripts and
transactions stay in one slot), then a short kind:

| key | type | what |
|---|---|---|
| ``pl:<p>:<dp>:<name>`` | hash | a global payload: body, updated_at, outcome, ct |
| ``pn:<p>:<dp>`` | set | names of a datapoint's global payloads |
| ``ss:<session>`` | hash | a session: p, dp, body, created, last_used, outcome, ct, name, and its payloads for other datapoints (``xb:``/``xm:`` fields) |
| ``sx`` | sorted set | sessions by creation time (µs), for paging newest first |
| ``id:<p>:<dp>:<id>`` | hash | an issued polling id: sess, created, polls, outcome, cap |
| ``cb:<p>:<dp>:<id>`` | hash | a callback request; ``dl:<id>`` its delivery log (list), ``cl:<session>`` a session's callbacks (list) |
| ``cu:<cursor>`` | hash | a pagination cursor |
| ``bk:<key>`` / ``sq:<key>`` | hash / string | rate-limit buckets, template sequences |
| ``ft:all`` / ``fn`` | hash / string | faults set at run time, by id (``faults.py``); their order |
| ``fc:<fault key>`` | hash | the request counters of one fault, per scope |

Payload, session and fault keys (``pl:``, ``ss:``, ``ft:``) are the ones in-process caches
follow.
"""

from __future__ import annotations


def part(text: str) -> str:
    """A key component that cannot contain the separator."""
    if ":" in text or "%" in text:
        return text.replace("%", "%25").replace(":", "%3A")
    return text


def unpart(text: str) -> str:
    return text.replace("%3A", ":").replace("%25", "%") if "%" in text else text


class Keys:
    def __init__(self, prefix: str):
        self.base = f"{{{prefix}}}:"
        self.payload_prefix = self.base + "pl:"
        self.session_prefix = self.base + "ss:"
        self.session_index = self.base + "sx"
        self.events = self.base + "events"  # the pub/sub channel of this prefix
        self.fault_prefix = self.base + "ft:"
        self.faults = self.fault_prefix + "all"
        self.fault_sequence = self.base + "fn"
        self.fault_counters = self.base + "fc:"  # + the fault's key

    def payload(self, partner: str, datapoint: str, name: str) -> str:
        return f"{self.payload_prefix}{part(partner)}:{part(datapoint)}:{part(name)}"

    def payload_names(self, partner: str, datapoint: str) -> str:
        return f"{self.base}pn:{part(partner)}:{part(datapoint)}"

    def session(self, session_id: str) -> str:
        return self.session_prefix + session_id

    def issued(self, partner: str, datapoint: str, id: str) -> str:
        return f"{self.base}id:{part(partner)}:{part(datapoint)}:{id}"

    def callback(self, partner: str, datapoint: str, id: str) -> str:
        return f"{self.base}cb:{part(partner)}:{part(datapoint)}:{id}"

    def session_callbacks(self, session_id: str) -> str:
        return f"{self.base}cl:{session_id}"

    def deliveries(self, request_id: str) -> str:
        return f"{self.base}dl:{request_id}"

    def cursor(self, cursor: str) -> str:
        return f"{self.base}cu:{cursor}"

    def bucket(self, key: str) -> str:
        return f"{self.base}bk:{key}"

    def sequence(self, key: str) -> str:
        return f"{self.base}sq:{key}"

    def named(self, kind: str) -> str:
        """Keys of the modules that share state beyond the store (journal, queue, partners)."""
        return self.base + kind


# ``now`` is an argument so that tests can drive time; empty means "Redis's own clock".
NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: the hash [, a list that indexes it]. ARGV: ttl seconds (0: none), the list item ("":
# no list), then field, value pairs. A new hash (and its index entry) with its TTL, atomically.
PUT_HASH = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
end
return 1
"""

# KEYS: session, index. ARGV: session id, created, ttl, index score. 0 when the id is taken.
OPEN_SESSION = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'p', '', 'dp', '', 'body', '', 'created', ARGV[2],
           'ct', 'application/json', 'name', '')
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""

# KEYS: session. ARGV: partner, datapoint, name, body, outcome ("": none), content type,
# time, extra field suffix. The payload the session was made with is replaced in place;
# any other goes into xb:/xm: fields of the same hash (one key: one TTL, one deletion).
PUT_SESSION_PAYLOAD = """
local row = redis.call('HMGET', KEYS[1], 'p', 'dp', 'name')
if not row[1] then return 0 end
if row[1] == ARGV[1] and row[2] == ARGV[2] and row[3] == ARGV[3] then
  redis.call('HSET', KEYS[1], 'body', ARGV[4], 'ct', ARGV[6])
  if ARGV[5] == '' then redis.call('HDEL', KEYS[1], 'outcome')
  else redis.call('HSET', KEYS[1], 'outcome', ARGV[5]) end
else
  redis.call('HSET', KEYS[1], 'xb:' .. ARGV[8], ARGV[4],
             'xm:' .. ARGV[8], cjson.encode({ARGV[7], ARGV[5], ARGV[6]}))
end
return 1
"""

# KEYS: payload, names. ARGV: name, "1" to write only when absent, then field, value pairs.
PUT_PAYLOAD = """
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

COUNT_POLL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HINCRBY', KEYS[1], 'polls', 1)
return redis.call('HGETALL', KEYS[1])
"""

# ARGV: now, requests per minute. 0 when a token was taken, else whole seconds to wait.
TAKE_TOKEN = NOW + """
local cap = tonumber(ARGV[2])
local rate = cap / 60.0
local row = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = cap
if row[1] then
  tokens = math.min(cap, tonumber(row[1]) + (now - tonumber(row[2])) * rate)
end
if tokens >= 1.0 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens - 1.0),
             'updated', string.format('%.17g', now))
  redis.call('EXPIRE', KEYS[1], 120)
  return 0
end
return math.max(1, math.ceil((1.0 - tokens) / rate))
"""

# ARGV: last_used text, ttl seconds (0: none). Never brings a deleted session back.
STAMP_SESSION = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_used', ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

# KEYS: index. ARGV: session key prefix, after ("" for the first page), limit (-1: all).
# Returns {sid, fields} pairs, newest first; sessions that expired leave the index.
LIST_SESSIONS = """
local start = 0
if ARGV[2] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
  if not rank then return {} end
  start = rank + 1
end
local limit = tonumber(ARGV[3])
local out, stale = {}, {}
while limit < 0 or #out < limit do
  local ids = redis.call('ZREVRANGE', KEYS[1], start, start + 99)
  if #ids == 0 then break end
  for _, sid in ipairs(ids) do
    if limit >= 0 and #out >= limit then break end
    local row = redis.call('HGETALL', ARGV[1] .. sid)
    if #row == 0 then stale[#stale + 1] = sid else out[#out + 1] = {sid, row} end
  end
  start = start + #ids
end
for _, sid in ipairs(stale) do redis.call('ZREM', KEYS[1], sid) end
return out
"""

# KEYS: index. ARGV: session key prefix, "clear" to delete them. Returns how many exist.
COUNT_SESSIONS = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local alive = 0
for _, sid in ipairs(ids) do
  if redis.call('EXISTS', ARGV[1] .. sid) == 1 then
    alive = alive + 1
    if ARGV[2] == 'clear' then redis.call('UNLINK', ARGV[1] .. sid) end
  else
    redis.call('ZREM', KEYS[1], sid)
  end
end
if ARGV[2] == 'clear' then redis.call('DEL', KEYS[1]) end
return alive
"""

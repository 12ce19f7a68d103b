"""The behaviour every ``Store`` backend must have, independent of how it keeps data.

Subclass ``StoreContract`` in a test module and provide three fixtures:

- ``store``: an empty store whose clock is the ``clock`` fixture;
- ``clock``: a callable returning epoch seconds, with ``advance(seconds)``;
- ``reopen``: a callable returning a *new* store instance over the same data
  (a restart, or a second replica), using the same clock. The test closes it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from imnot_proxy.store import Store

P, DP = "staylink", "report"


def body(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


FRESH_WITHIN = 0.1  # seconds: a read after another instance's acknowledged write sees it


def fresh(read: Callable[[], object], expected: object) -> float:
    """Read until the value is ``expected``; fails after ``FRESH_WITHIN`` seconds. Returns
    how long it took (0 for a backend that checks on every read, as SQLite does)."""
    started = time.monotonic()
    while True:
        value = read()
        waited = time.monotonic() - started
        if value == expected:
            return waited
        assert waited < FRESH_WITHIN, f"still {value!r} after {waited * 1000:.0f} ms"
        time.sleep(0.002)


class StoreContract:
    """Backend-agnostic tests; a subclass supplies ``store``, ``clock`` and ``reopen``."""

    # --- global payloads ---------------------------------------------------------

    def test_global_payload_round_trip(self, store: Store):
        at = store.put_global(P, DP, body({"a": 1}))
        payload = store.get_global(P, DP)
        assert payload is not None
        assert payload.body == body({"a": 1})
        assert payload.updated_at == at
        assert payload.outcome is None

    def test_global_payload_missing_is_none(self, store: Store):
        assert store.get_global(P, DP) is None

    def test_global_payload_last_write_wins(self, store: Store):
        store.put_global(P, DP, body({"v": 1}), outcome="failed")
        store.put_global(P, DP, body({"v": 2}))
        payload = store.get_global(P, DP)
        assert payload is not None
        assert payload.body == body({"v": 2})
        assert payload.outcome is None  # the outcome belongs to the upload that set it

    def test_global_payload_keeps_outcome(self, store: Store):
        store.put_global(P, DP, body([]), outcome="failed")
        assert store.get_global(P, DP).outcome == "failed"

    def test_global_payloads_scoped_to_partner_and_datapoint(self, store: Store):
        store.put_global(P, DP, body(1))
        store.put_global(P, "other", body(2))
        store.put_global("bookingco", DP, body(3))
        assert store.get_global(P, DP).body == b"1"
        assert store.get_global(P, "other").body == b"2"
        assert store.get_global("bookingco", DP).body == b"3"

    # --- sessions ------------------------------------------------------------------

    def test_session_ids_are_new_on_every_upload(self, store: Store):
        first = store.create_session(P, DP, body(1))
        second = store.create_session(P, DP, body(1))
        assert first and second and first != second

    def test_sessions_are_isolated_and_leave_global_alone(self, store: Store):
        a = store.create_session(P, DP, body("a"))
        b = store.create_session(P, DP, body("b"))
        assert store.session_payload(a, P, DP).body == body("a")
        assert store.session_payload(b, P, DP).body == body("b")
        assert store.get_global(P, DP) is None

    def test_session_scoped_to_its_partner_and_datapoint(self, store: Store):
        sid = store.create_session(P, DP, body(1))
        assert store.session_payload(sid, P, "other") is None
        assert store.session_payload(sid, "bookingco", DP) is None
        assert store.session_payload("no-such-session", P, DP) is None

    def test_session_keeps_outcome(self, store: Store):
        sid = store.create_session(P, DP, body(1), outcome="failed")
        assert store.session_payload(sid, P, DP).outcome == "failed"
        assert store.get_session(sid).outcome == "failed"

    def test_last_used_stamped_only_when_the_session_payload_is_used(self, store: Store):
        sid = store.create_session(P, DP, body(1))
        record = store.get_session(sid)
        assert record is not None
        assert (record.partner, record.datapoint, record.body) == (P, DP, body(1))
        assert record.created_at
        assert record.last_used is None
        store.session_payload(sid, P, "other")  # a miss does not count as a use
        assert store.get_session(sid).last_used is None
        store.session_payload(sid, P, DP)
        assert store.get_session(sid).last_used is not None

    def test_a_session_opened_empty_takes_payloads_for_several_datapoints(self, store: Store):
        sid = store.open_session("t-1")
        assert sid == "t-1"
        assert store.session_payload(sid, P, DP) is None
        assert store.put_session_payload(sid, P, DP, body(1)) is True
        assert store.put_session_payload(sid, "bookingco", "list", body(2), "failed") is True
        assert store.session_payload(sid, P, DP).body == body(1)
        other = store.session_payload(sid, "bookingco", "list")
        assert (other.body, other.outcome) == (body(2), "failed")
        assert store.put_session_payload(sid, P, DP, body(3)) is True  # replaced
        assert store.session_payload(sid, P, DP).body == body(3)
        assert store.get_global(P, DP) is None
        record = store.get_session(sid)
        assert (record.partner, record.datapoint, record.body) == ("", "", b"")

    def test_open_session_with_a_taken_id_is_refused_and_new_ids_are_made(self, store: Store):
        assert store.open_session("same") == "same"
        assert store.open_session("same") is None
        first, second = store.open_session(), store.open_session()
        assert first and second and first != second
        uploaded = store.create_session(P, DP, body(1))
        assert store.open_session(uploaded) is None

    def test_payload_into_a_session_made_by_upload(self, store: Store):
        sid = store.create_session(P, DP, body(1))
        assert store.put_session_payload(sid, P, "other", body(2)) is True
        assert store.put_session_payload(sid, P, DP, body(3), "failed") is True
        assert store.session_payload(sid, P, "other").body == body(2)
        own = store.session_payload(sid, P, DP)
        assert (own.body, own.outcome) == (body(3), "failed")
        assert store.get_session(sid).body == body(3)

    def test_named_payloads_of_any_type_into_an_opened_session(self, store: Store):
        sid = store.open_session()
        assert store.put_session_payload(sid, P, DP, b"<a/>", name="xml",
                                         content_type="application/xml")
        assert store.session_payload(sid, P, DP) is None  # only the named one was given
        got = store.session_payload(sid, P, DP, "xml")
        assert (got.body, got.content_type, got.name) == (b"<a/>", "application/xml", "xml")

    def test_payload_into_an_unknown_session_is_refused(self, store: Store):
        assert store.put_session_payload("nope", P, DP, body(1)) is False
        assert store.session_payload("nope", P, DP) is None

    def test_deleting_a_session_drops_all_its_payloads(self, store: Store):
        sid = store.open_session()
        store.put_session_payload(sid, P, DP, body(1))
        assert store.delete_session(sid) is True
        assert store.session_payload(sid, P, DP) is None
        assert store.open_session(sid) == sid  # the id is free again, and empty
        assert store.session_payload(sid, P, DP) is None
        store.put_session_payload(sid, P, DP, body(1))
        assert store.clear_sessions() == 1
        assert store.session_payload(sid, P, DP) is None

    def test_reading_without_touch_leaves_last_used(self, store: Store):
        sid = store.open_session()
        store.put_session_payload(sid, P, DP, body(1))
        assert store.session_payload(sid, P, DP, touch=False).body == body(1)
        assert store.get_session(sid).last_used is None
        store.session_payload(sid, P, DP)
        assert store.get_session(sid).last_used is not None

    def test_get_session_unknown_is_none(self, store: Store):
        assert store.get_session("nope") is None

    def test_list_delete_and_clear_sessions(self, store: Store):
        a = store.create_session(P, DP, body(1))
        b = store.create_session(P, "other", body(2))
        assert {r.session_id for r in store.list_sessions()} == {a, b}
        assert store.delete_session(a) is True
        assert store.delete_session(a) is False
        assert [r.session_id for r in store.list_sessions()] == [b]
        store.create_session(P, DP, body(3))
        assert store.clear_sessions() == 2
        assert store.list_sessions() == []
        assert store.clear_sessions() == 0

    def test_sessions_are_counted_and_listed_a_page_at_a_time(self, store: Store):
        made = [store.create_session(P, DP, body(i)) for i in range(7)]
        assert store.count_sessions() == 7
        pages, after = [], None
        while True:
            page = store.list_sessions(limit=3, after=after)
            if not page:
                break
            pages.append([r.session_id for r in page])
            after = page[-1].session_id
        assert [len(p) for p in pages] == [3, 3, 1]
        listed = [sid for page in pages for sid in page]
        assert listed == [r.session_id for r in store.list_sessions()]
        assert sorted(listed) == sorted(made)
        assert store.list_sessions(limit=3, after="no-such-session") == []

    def test_named_payloads_keep_their_content_type(self, store: Store):
        store.put_global(P, DP, body({"n": 0}))
        store.put_global(P, DP, b"<r>gold</r>", name="gold", content_type="application/xml")
        store.put_global(P, DP, b"a,b\n", name="csv", content_type="text/csv")
        gold = store.get_global(P, DP, "gold")
        assert (gold.body, gold.content_type, gold.name) == (b"<r>gold</r>", "application/xml",
                                                             "gold")
        assert store.get_global(P, DP).is_json and store.get_global(P, DP).name == ""
        assert store.get_global(P, DP, "silver") is None
        assert store.payload_names(P, DP) == ["", "csv", "gold"]
        assert store.payload_names(P, "other") == []

    def test_session_payload_has_a_name_and_a_content_type(self, store: Store):
        sid = store.create_session(P, DP, b"<x/>", name="gold", content_type="text/xml")
        found = store.session_payload(sid, P, DP, "gold")
        assert (found.body, found.content_type) == (b"<x/>", "text/xml")
        assert store.session_payload(sid, P, DP) is None  # not the default payload
        record = store.get_session(sid)
        assert (record.name, record.content_type) == ("gold", "text/xml")

    # --- polling ids ---------------------------------------------------------------

    def test_issued_ids_and_callbacks_keep_captured_values(self, store: Store):
        issued = store.issue_id(P, DP, None, captured={"hotel": "H-7", "n": [1, 2]})
        assert store.get_id(P, DP, issued.id).captured == {"hotel": "H-7", "n": [1, 2]}
        assert store.count_poll(P, DP, issued.id).captured == {"hotel": "H-7", "n": [1, 2]}
        assert store.get_id(P, DP, store.issue_id(P, DP, None).id).captured == {}
        request = store.add_callback(P, DP, None, "http://127.0.0.1/x", "POST",
                                     captured={"ref": "R"})
        assert store.get_callback(P, DP, request.id).captured == {"ref": "R"}

    def test_sequences_count_per_key(self, store: Store):
        assert [store.next_sequence("a") for _ in range(3)] == [1, 2, 3]
        assert store.next_sequence("b") == 1

    def test_issue_id_records_session_outcome_and_time(self, store: Store, clock):
        issued = store.issue_id(P, DP, "s1", "failed")
        assert issued.id
        assert (issued.partner, issued.datapoint, issued.session_id) == (P, DP, "s1")
        assert issued.created == clock()
        assert issued.polls == 0
        assert store.get_id(P, DP, issued.id) == issued

    def test_issued_ids_are_unique(self, store: Store):
        ids = {store.issue_id(P, DP, None).id for _ in range(20)}
        assert len(ids) == 20

    def test_ids_scoped_to_partner_and_datapoint(self, store: Store):
        issued = store.issue_id(P, DP, None)
        assert store.get_id(P, "reservation", issued.id) is None
        assert store.get_id("bookingco", DP, issued.id) is None
        assert store.count_poll(P, "reservation", issued.id) is None
        assert store.get_id(P, DP, "never-issued") is None

    def test_count_poll_returns_polls_made_before(self, store: Store):
        issued = store.issue_id(P, DP, None)
        assert [store.count_poll(P, DP, issued.id).polls for _ in range(3)] == [0, 1, 2]
        assert store.get_id(P, DP, issued.id).polls == 3

    def test_count_poll_counts_each_id_separately(self, store: Store):
        a = store.issue_id(P, DP, None)
        b = store.issue_id(P, DP, None)
        store.count_poll(P, DP, a.id)
        store.count_poll(P, DP, a.id)
        assert store.count_poll(P, DP, b.id).polls == 0
        assert store.get_id(P, DP, a.id).polls == 2

    def test_count_poll_unknown_id_is_none(self, store: Store):
        assert store.count_poll(P, DP, "never-issued") is None

    # --- callbacks -------------------------------------------------------------------

    def test_callback_round_trip_scoped(self, store: Store):
        request = store.add_callback(P, "export", "s1", "http://127.0.0.1:9/hook", "PUT")
        assert (request.url, request.method, request.session_id) == (
            "http://127.0.0.1:9/hook", "PUT", "s1")
        assert store.get_callback(P, "export", request.id) == request
        assert store.get_callback(P, "other", request.id) is None
        assert store.get_callback("bookingco", "export", request.id) is None

    def test_callbacks_listed_per_session_oldest_first(self, store: Store):
        first = store.add_callback(P, "export", "s1", "http://127.0.0.1:9/a", "POST")
        store.add_callback(P, "export", "s2", "http://127.0.0.1:9/b", "POST")
        second = store.add_callback(P, "export", "s1", "http://127.0.0.1:9/c", "PUT")
        store.add_callback(P, "export", None, "http://127.0.0.1:9/d", "POST")
        assert store.list_callbacks("s1") == [first, second]
        assert store.list_callbacks("none") == []

    def test_delivery_log_in_order_per_request(self, store: Store):
        first = store.add_callback(P, "export", None, "http://127.0.0.1:9/a", "POST")
        second = store.add_callback(P, "export", None, "http://127.0.0.1:9/b", "POST")
        store.log_delivery(first.id, 1, None, "connection refused")
        store.log_delivery(second.id, 1, 200, None)
        store.log_delivery(first.id, 2, 503, None)
        log = store.deliveries(first.id)
        assert [(d.attempt, d.status, d.error) for d in log] == [
            (1, None, "connection refused"), (2, 503, None)]
        assert all(d.request_id == first.id and d.at for d in log)
        assert [d.status for d in store.deliveries(second.id)] == [200]
        assert store.deliveries("unknown") == []

    # --- cursors -----------------------------------------------------------------------

    def test_cursor_round_trip(self, store: Store):
        cursor = store.add_cursor(P, DP, None, 30, 60)
        assert store.get_cursor(P, DP, None, cursor) == 30
        assert store.get_cursor(P, DP, None, cursor) == 30  # reusable, not consumed

    def test_cursor_scoped_to_partner_datapoint_and_session(self, store: Store):
        plain = store.add_cursor(P, DP, None, 10, 60)
        in_session = store.add_cursor(P, DP, "s1", 20, 60)
        assert store.get_cursor(P, "other", None, plain) is None
        assert store.get_cursor("bookingco", DP, None, plain) is None
        assert store.get_cursor(P, DP, "s1", plain) is None
        assert store.get_cursor(P, DP, None, in_session) is None
        assert store.get_cursor(P, DP, "s2", in_session) is None
        assert store.get_cursor(P, DP, "s1", in_session) == 20
        assert store.get_cursor(P, DP, None, "unknown") is None

    def test_cursor_expires_after_its_ttl(self, store: Store, clock):
        cursor = store.add_cursor(P, DP, None, 5, 60)
        clock.advance(60)
        assert store.get_cursor(P, DP, None, cursor) == 5
        clock.advance(1)
        assert store.get_cursor(P, DP, None, cursor) is None

    def test_cursor_with_ttl_zero_never_expires(self, store: Store, clock):
        cursor = store.add_cursor(P, DP, None, 5, 0)
        clock.advance(10 * 365 * 86400)
        store.add_cursor(P, DP, None, 1, 1)  # adding may purge expired cursors
        assert store.get_cursor(P, DP, None, cursor) == 5

    # --- rate-limit buckets ------------------------------------------------------------

    def test_bucket_starts_full_then_rejects(self, store: Store):
        waits = [store.take_token("k", 5) for _ in range(6)]
        assert waits[:5] == [0, 0, 0, 0, 0]
        assert waits[5] > 0

    @pytest.mark.parametrize(("per_minute", "after", "retry_after"), [
        (60, 0.0, 1),     # one token a second
        (30, 0.0, 2),     # one token every two seconds
        (30, 1.0, 1),     # half a token refilled: one more second
        (6, 4.0, 6),      # 0.4 refilled, 0.6 missing at 0.1/s
        (1, 0.0, 60),
    ])
    def test_retry_after_is_time_to_the_next_token(self, store: Store, clock,
                                                   per_minute, after, retry_after):
        for _ in range(per_minute):
            assert store.take_token("k", per_minute) == 0
        clock.advance(after)
        assert store.take_token("k", per_minute) == retry_after

    def test_refill_is_linear_and_rejections_consume_nothing(self, store: Store, clock):
        for _ in range(30):
            store.take_token("k", 30)
        for _ in range(5):  # a burst of rejected calls must not delay the next token
            assert store.take_token("k", 30) == 2
        clock.advance(2)
        assert store.take_token("k", 30) == 0
        assert store.take_token("k", 30) > 0
        clock.advance(10)  # five tokens
        assert [store.take_token("k", 30) for _ in range(6)][:5] == [0] * 5

    def test_refill_is_capped_at_capacity(self, store: Store, clock):
        store.take_token("k", 3)
        clock.advance(3600)
        waits = [store.take_token("k", 3) for _ in range(4)]
        assert waits[:3] == [0, 0, 0]
        assert waits[3] > 0

    def test_buckets_are_per_key(self, store: Store):
        store.take_token("a", 1)
        assert store.take_token("a", 1) > 0
        assert store.take_token("b", 1) == 0

    # --- faults set at run time, fault counters ------------------------------------------

    def test_fault_round_trip_and_listing_by_session(self, store: Store, clock):
        a = store.add_fault(P, None, b'{"kind":"reset"}', None)
        b = store.add_fault(P, "s1", b'{"kind":"hang"}', clock() + 60)
        assert a.id and b.id and a.id != b.id
        assert (b.partner, b.session_id, b.spec, b.expires_at) == (
            P, "s1", b'{"kind":"hang"}', clock() + 60)
        assert b.created_at == clock()
        assert store.list_faults() == [a, b]
        assert store.list_faults("s1") == [b]
        assert store.list_faults("s2") == []
        assert store.active_faults() == (a, b)

    def test_expired_faults_are_not_in_force(self, store: Store, clock):
        short = store.add_fault(P, None, b"{}", clock() + 10)
        kept = store.add_fault(P, None, b"{}", None)
        assert store.active_faults() == (short, kept)  # cached...
        clock.advance(10)
        assert store.active_faults() == (kept,)  # ...but not past the first expiry
        assert store.list_faults() == [kept]

    def test_delete_and_clear_faults(self, store: Store):
        a = store.add_fault(P, None, b"{}", None)
        b = store.add_fault(P, "s1", b"{}", None)
        c = store.add_fault(P, "s1", b"{}", None)
        assert store.active_faults() == (a, b, c)
        assert store.delete_fault(a.id)
        assert not store.delete_fault(a.id)
        assert store.active_faults() == (b, c)
        assert store.clear_faults("s2") == 0
        assert store.clear_faults("s1") == 2
        assert store.active_faults() == ()
        store.add_fault(P, None, b"{}", None)
        assert store.clear_faults() == 1
        assert store.list_faults() == []

    def test_fault_counter_counts_from_one_and_keeps_the_first_time(self, store: Store, clock):
        assert store.count_fault("k|s1") == (1, clock())
        first = clock()
        clock.advance(5)
        assert store.count_fault("k|s1") == (2, first)
        assert store.count_fault("k|s2") == (1, clock())

    def test_deleting_a_fault_drops_its_counters(self, store: Store):
        fault = store.add_fault(P, None, b"{}", None)
        other = store.add_fault(P, None, b"{}", None)
        store.count_fault(f"{fault.id}|s1")
        store.count_fault(f"{other.id}|s1")
        store.delete_fault(fault.id)
        assert store.count_fault(f"{fault.id}|s1")[0] == 1
        assert store.count_fault(f"{other.id}|s1")[0] == 2

    # --- durability and several instances ------------------------------------------------

    def test_data_survives_reopening(self, store: Store, reopen):
        store.put_global(P, DP, body({"kept": True}), outcome="failed")
        sid = store.create_session(P, DP, body("s"))
        issued = store.issue_id(P, DP, sid)
        store.count_poll(P, DP, issued.id)
        callback = store.add_callback(P, "export", None, "http://127.0.0.1:9/x", "POST")
        store.log_delivery(callback.id, 1, 204, None)
        cursor = store.add_cursor(P, "list", None, 7, 60)
        fault = store.add_fault(P, "s1", b'{"kind":"reset"}', None)
        store.count_fault("k")
        store.close()
        again = reopen()
        try:
            payload = again.get_global(P, DP)
            assert (payload.body, payload.outcome) == (body({"kept": True}), "failed")
            assert again.session_payload(sid, P, DP).body == body("s")
            assert again.get_id(P, DP, issued.id).polls == 1
            assert again.get_callback(P, "export", callback.id) == callback
            assert [d.status for d in again.deliveries(callback.id)] == [204]
            assert again.get_cursor(P, "list", None, cursor) == 7
            assert again.active_faults() == (fault,)
            assert again.count_fault("k")[0] == 2
        finally:
            again.close()

    def test_second_instance_sees_uploads_within_100_ms(self, store: Store, reopen):
        other = reopen()

        def payload(where: Store) -> bytes | None:
            found = where.get_global(P, DP)
            return found.body if found else None

        try:
            assert payload(store) is None  # a miss another instance may cache
            other.put_global(P, DP, body({"v": 1}))
            fresh(lambda: payload(store), body({"v": 1}))
            other.put_global(P, DP, body({"v": 2}))
            fresh(lambda: payload(store), body({"v": 2}))
            store.put_global(P, DP, body({"v": 3}))
            fresh(lambda: payload(other), body({"v": 3}))
        finally:
            other.close()

    def test_second_instance_sees_session_deletes_within_100_ms(self, store: Store, reopen):
        other = reopen()
        try:
            sid = other.create_session(P, DP, body(1))
            assert store.session_payload(sid, P, DP).body == body(1)  # now cached
            other.delete_session(sid)
            fresh(lambda: store.session_payload(sid, P, DP), None)
        finally:
            other.close()

    def test_a_seed_never_overwrites_a_payload(self, store: Store, reopen):
        other = reopen()
        try:
            assert store.put_global(P, DP, body({"uploaded": 1})) is not None
            assert other.put_global(P, DP, body({"seed": 1}), if_absent=True) is None
            assert store.get_global(P, DP).body == body({"uploaded": 1})
            assert other.get_global(P, DP).body == body({"uploaded": 1})
            assert other.put_global(P, "fresh", body({"seed": 1}), if_absent=True)
            assert store.get_global(P, "fresh").body == body({"seed": 1})
        finally:
            other.close()

    def test_two_seeders_of_one_payload_leave_one_value(self, store: Store, reopen):
        other = reopen()
        try:
            store.put_global(P, DP, body({"seed": "a"}), name="n")
            other.put_global(P, DP, body({"seed": "b"}), name="n")
            assert store.payload_names(P, DP) == ["n"]
            fresh(lambda: store.get_global(P, DP, "n").body, body({"seed": "b"}))
            assert other.get_global(P, DP, "n").body == body({"seed": "b"})
        finally:
            other.close()

    def test_second_instance_shares_sessions_ids_and_buckets(self, store: Store, reopen):
        other = reopen()
        try:
            sid = other.create_session(P, DP, body(1))
            issued = other.issue_id(P, DP, None)
            assert store.session_payload(sid, P, DP).body == body(1)
            assert store.count_poll(P, DP, issued.id).polls == 0
            named = other.open_session()
            assert store.session_payload(named, P, DP) is None  # a miss this instance caches
            other.put_session_payload(named, P, DP, body(2))
            fresh(lambda: getattr(store.session_payload(named, P, DP), "body", None), body(2))
            assert other.take_token("k", 1) == 0
            assert store.take_token("k", 1) > 0
        finally:
            other.close()

    def test_second_instance_sees_faults_within_100_ms(self, store: Store, reopen):
        """The faults in force are cached for the hot path; another instance's (replica's)
        changes show within ``FRESH_WITHIN``, this instance's own at once."""
        other = reopen()
        try:
            assert store.active_faults() == ()  # cached as empty
            fault = other.add_fault(P, "s1", b"{}", None)
            fresh(store.active_faults, (fault,))
            assert store.active_faults() is store.active_faults()  # unchanged: the same
            second = other.add_fault(P, None, b"{}", None)
            fresh(store.active_faults, (fault, second))
            other.delete_fault(fault.id)
            fresh(store.active_faults, (second,))
            other.clear_faults()
            fresh(store.active_faults, ())
            mine = store.add_fault(P, None, b"{}", None)
            assert store.active_faults() == (mine,)
            fresh(other.active_faults, (mine,))
            other.count_fault("k")
            assert store.count_fault("k")[0] == 2
        finally:
            other.close()

    def test_fault_counts_are_atomic_across_instances(self, store: Store, reopen):
        """Two instances counting one key at once never hand out the same number."""
        other = reopen()
        try:
            numbers: list[int] = []

            def count(target: Store) -> None:
                for _ in range(50):
                    numbers.append(target.count_fault("f1|s1")[0])

            workers = [threading.Thread(target=count, args=(s,)) for s in (store, other)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert sorted(numbers) == list(range(1, 101))
        finally:
            other.close()


def soon(condition, seconds: float = 1.0) -> bool:
    """Whether ``condition()`` becomes true before ``seconds`` pass (polled, no sleep)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
    return True

/**
 * Gaps and re-anchors of one symbol as episodes a person can read: when the book broke, why (criterion), how
 * many re-anchors it took and how long readers saw `resyncing`. Built from what the pipeline already leaves
 * behind (the `reanchor:requests` / `reanchor:done` streams, `ob:` status as polled, the REST detector's
 * per-criterion counters). Pure.
 */

export interface ReanchorRequest {
  ms: number;
  reason: string;
}
export interface ReanchorDone {
  ms: number;
  lastUpdateId: string;
}
export interface StatusSample {
  t: number;
  /** `ob:` said `live` (false: `resyncing`, or no book yet). */
  live: boolean;
}
/** The REST detector's counter for `criterion` rose by `n` between two polls ending at `t`. */
export interface CriterionRise {
  t: number;
  criterion: string;
  n: number;
}

export interface Episode {
  start: number;
  /** First time readers saw `live` again; null while still resyncing. */
  end: number | null;
  /** Why the book was re-anchored: sequence, no book, crossed, time, volume, requested, … */
  criteria: string[];
  /** Requests the aggregator sent (retries included); 0 when the REST mode's own checks found the gap. */
  requests: number;
  /** Who noticed: the aggregator (it asked), or the REST mode's checks (a re-anchor nobody asked for). */
  noticedBy: 'aggregator' | 'rest';
  reanchors: { ms: number; lastUpdateId: string }[];
  /** end - start, or up to `now` while open. */
  durationMs: number;
}

/** A request reason in the words of the gap criteria. Repeats of an open request return null. */
export function criterionOf(reason: string): string | null {
  switch (reason) {
    case 'gap':
    case 'buffer-gap':
      return 'sequence';
    case 'no-book':
    case 'startup':
      return 'no book';
    case 'still_resyncing':
      return null;
    default:
      return reason;
  }
}

/** How long before a request-less re-anchor a REST criterion rise is taken as its cause. */
const RISE_WINDOW_MS = 15_000;

type Ev =
  | { kind: 'req'; t: number; reason: string }
  | { kind: 'done'; t: number; lastUpdateId: string }
  | { kind: 'status'; t: number; live: boolean };

export function buildEpisodes(o: {
  requests: ReanchorRequest[];
  dones: ReanchorDone[];
  status: StatusSample[];
  rises?: CriterionRise[];
  now: number;
}): Episode[] {
  const evs: Ev[] = [
    ...o.requests.map((r): Ev => ({ kind: 'req', t: r.ms, reason: r.reason })),
    ...o.dones.map((d): Ev => ({ kind: 'done', t: d.ms, lastUpdateId: d.lastUpdateId })),
    ...o.status.map((s): Ev => ({ kind: 'status', t: s.t, live: s.live })),
  ];
  // At equal times a request opens before a done closes, and a status sample is read last.
  const order = { req: 0, done: 1, status: 2 } as const;
  evs.sort((a, b) => a.t - b.t || order[a.kind] - order[b.kind]);

  const out: Episode[] = [];
  let open: Episode | undefined;
  const openAt = (t: number): Episode => {
    open = { start: t, end: null, criteria: [], requests: 0, noticedBy: 'rest', reanchors: [], durationMs: 0 };
    out.push(open);
    return open;
  };
  const addCriterion = (e: Episode, c: string): void => {
    if (!e.criteria.includes(c)) e.criteria.push(c);
  };
  for (const ev of evs) {
    if (ev.kind === 'req') {
      const e = open ?? openAt(ev.t);
      e.requests++;
      e.noticedBy = 'aggregator';
      const c = criterionOf(ev.reason);
      if (c) addCriterion(e, c);
    } else if (ev.kind === 'done') {
      const e = open ?? openAt(ev.t);
      e.reanchors.push({ ms: ev.t, lastUpdateId: ev.lastUpdateId });
    } else if (!ev.live) {
      if (!open) openAt(ev.t);
    } else if (open) {
      // A live book after a request but before its re-anchor is the old book still being read (the request
      // is in flight): the episode ends once a re-anchor has landed, or when nothing was ever asked.
      if (open.reanchors.length > 0 || open.requests === 0) {
        open.end = ev.t;
        open = undefined;
      }
    }
  }
  for (const e of out) {
    if (e.criteria.length === 0) {
      const since = e.start - RISE_WINDOW_MS;
      for (const r of o.rises ?? []) if (r.t >= since && r.t <= (e.end ?? o.now) && r.n > 0) addCriterion(e, r.criterion);
      if (e.criteria.length === 0) addCriterion(e, e.requests > 0 ? 'requested' : 'REST check');
    }
    e.durationMs = Math.max(0, (e.end ?? o.now) - e.start);
  }
  return out;
}

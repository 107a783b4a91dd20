"""The SQL behind each part of the library report: plain text, run as shown.

Every query reads the catalogue's tables through :func:`catalog.query` and is shown
in the report under what it produced, so an analyst can paste it into ``emotag
query``. Numbers (``top``, ``min_speech_s``) are written into the text as literals.

Where one answer per track matters (the library's emotion mix, folders, dominated
videos, arousal/valence), only the *newest model version of each track* counts: per
``(video_id, track_index)`` the unit whose marker in ``units`` was committed last
(ties: the larger model version). A video is shown by its *current path*: of its
rows in ``videos`` (one per path it was seen at), the newest one not ``missing``.
"""

from __future__ import annotations

from catalog.schema import EMOTIONS

__all__ = [
    "affect_sql",
    "by_folder_sql",
    "dominated_sql",
    "emotion_mix_sql",
    "failures_sql",
    "model_shift_sql",
    "overview_sql",
    "runs_sql",
]

_LATEST = """latest AS (  -- the newest model version of each track
    SELECT video_id, track_index, model_version
    FROM units
    QUALIFY row_number() OVER (
        PARTITION BY video_id, track_index ORDER BY committed_at DESC, model_version DESC) = 1
)"""

_CURRENT = """current_videos AS (  -- each video once, at its newest path still present
    SELECT video_id, path, status, error, last_seen_at
    FROM videos
    QUALIFY row_number() OVER (
        PARTITION BY video_id ORDER BY status = 'missing', last_seen_at DESC, path) = 1
)"""

_UNIT_KEY = "USING (video_id, track_index, model_version)"


def _mix(*, prefix: str = "", indent: int = 7) -> str:
    """Select-list lines: the share of speech time per emotion over the grouped rows
    (each track's shares weighted by its speech seconds)."""
    pad = " " * indent
    return f",\n{pad}".join(
        f"sum({prefix}share_{e} * {prefix}speech_s) / nullif(sum({prefix}speech_s), 0) AS share_{e}"
        for e in EMOTIONS
    )


def _shift(new: str, old: str, *, indent: int = 11) -> str:
    """The mix shift in percentage points: half the summed absolute differences of the
    eight shares of ``new`` and ``old`` (0: the same mix, 100: nothing in common)."""
    pad = " " * indent
    terms = f"\n{pad}+ ".join(f"abs({new.format(e=e)} - {old.format(e=e)})" for e in EMOTIONS)
    return f"50 * (\n{pad}  {terms})"


def overview_sql() -> str:
    """One row: videos by status, tracks tagged, hours of audio (segments tile a track
    end to end) and of speech, and the share of windows per content class
    (``unknown``: rows written before catalogue schema 3 that are not speech)."""
    return f"""WITH {_LATEST},
{_CURRENT},
content_shares AS (  -- a window every hop: shares of windows are shares of time
    SELECT avg((kind = 'speech')::DOUBLE) AS share_speech,
           avg((kind = 'music')::DOUBLE) AS share_music,
           avg((kind = 'other')::DOUBLE) AS share_other,
           avg((kind = 'unknown')::DOUBLE) AS share_unknown
    FROM (
        SELECT coalesce(w.content, CASE WHEN w.is_speech THEN 'speech' ELSE 'unknown' END) AS kind
        FROM windows w JOIN latest {_UNIT_KEY}
    )
)
SELECT (SELECT count(*) FROM current_videos WHERE status <> 'missing') AS videos,
       (SELECT count(DISTINCT video_id) FROM latest) AS videos_tagged,
       (SELECT count(*) FROM latest) AS tracks_tagged,
       (SELECT count(*) FROM current_videos WHERE status = 'failed') AS videos_failed,
       (SELECT count(*) FROM current_videos WHERE status = 'no_audio') AS videos_no_audio,
       (SELECT count(*) FROM current_videos WHERE status = 'missing') AS videos_missing,
       (SELECT coalesce(sum(s.end_s - s.start_s), 0) / 3600
        FROM segments s JOIN latest {_UNIT_KEY}) AS audio_hours,
       (SELECT coalesce(sum(p.speech_s), 0) / 3600
        FROM profiles p JOIN latest {_UNIT_KEY}) AS speech_hours,
       (SELECT count(DISTINCT model_version) FROM latest) AS model_versions,
       content_shares.*
FROM content_shares"""


def emotion_mix_sql() -> str:
    """The emotion mix of the library (newest model per track), then of each model
    version over every track it tagged."""
    return f"""WITH {_LATEST}
SELECT scope, tracks, speech_hours, {", ".join(f"share_{e}" for e in EMOTIONS)}
FROM (
    SELECT 0 AS part, 'library (newest model per track)' AS scope,
           count(*) AS tracks, sum(speech_s) / 3600 AS speech_hours,
           {_mix(indent=11)}
    FROM profiles JOIN latest {_UNIT_KEY}
    HAVING count(*) > 0
    UNION ALL
    SELECT 1 AS part, model_version AS scope,
           count(*) AS tracks, sum(speech_s) / 3600 AS speech_hours,
           {_mix(indent=11)}
    FROM profiles
    GROUP BY model_version
)
ORDER BY part, scope"""


def model_shift_sql() -> str:
    """Each model version against the one that first wrote before it, on the tracks
    both tagged with speech: tracks, speech and the mix shift (see :func:`_shift`)."""
    new = "n.share_{e}"
    old = "o.share_{e}"
    return f"""WITH versions AS (  -- model versions in the order they first wrote
    SELECT model_version, min(committed_at) AS first_at FROM units GROUP BY model_version
),
pairs AS (  -- each version and the one before it
    SELECT lag(model_version) OVER (ORDER BY first_at, model_version) AS old_version,
           model_version AS new_version, first_at
    FROM versions
),
shared AS (  -- the tracks both versions of a pair tagged, with speech under both
    SELECT pairs.old_version, pairs.new_version, pairs.first_at, a.video_id, a.track_index
    FROM pairs
    JOIN profiles a ON a.model_version = pairs.old_version
    JOIN profiles b ON b.model_version = pairs.new_version
        AND b.video_id = a.video_id AND b.track_index = a.track_index
    WHERE a.speech_s > 0 AND b.speech_s > 0
),
mixes AS (  -- the emotion mix of each side of a pair on those tracks
    SELECT shared.old_version, shared.new_version, shared.first_at, p.model_version,
           count(*) AS tracks, sum(p.speech_s) / 3600 AS speech_hours,
           {_mix(prefix="p.", indent=11)}
    FROM shared JOIN profiles p USING (video_id, track_index)
    WHERE p.model_version IN (shared.old_version, shared.new_version)
    GROUP BY ALL
)
SELECT o.old_version, n.new_version, n.tracks,
       o.speech_hours AS old_speech_hours, n.speech_hours AS new_speech_hours,
       {_shift(new, old)} AS mix_shift_pp
FROM mixes o JOIN mixes n
    ON n.old_version = o.old_version AND n.new_version = o.new_version
   AND o.model_version = o.old_version AND n.model_version = n.new_version
ORDER BY n.first_at DESC, n.new_version"""


def by_folder_sql() -> str:
    """The emotion mix per top-level folder below the library root, the deepest folder
    that holds every present video (paths are absolute, ``/``-separated). Videos right
    in the root count as ``(library root)``."""
    return f"""WITH {_LATEST},
{_CURRENT},
parts AS (  -- the folders and file name of each present video's path
    SELECT video_id, string_split(path, '/') AS names
    FROM current_videos WHERE status <> 'missing'
),
common AS (  -- folder depths at which every path has one and the same folder
    SELECT depth
    FROM parts, range(1, len(names)) AS t(depth)
    GROUP BY depth
    HAVING count(*) = (SELECT count(*) FROM parts) AND count(DISTINCT names[1:depth]) = 1
),
root AS (SELECT coalesce(max(depth), 0) AS depth FROM common),
folders AS (
    SELECT video_id,
           array_to_string(names[1:root.depth], '/') AS library_root,
           CASE WHEN len(names) > root.depth + 1 THEN names[root.depth + 1]
                ELSE '(library root)' END AS folder
    FROM parts, root
)
SELECT library_root, folder, count(DISTINCT video_id) AS videos,
       sum(speech_s) / 3600 AS speech_hours,
       {_mix()}
FROM profiles JOIN latest {_UNIT_KEY} JOIN folders USING (video_id)
GROUP BY library_root, folder
ORDER BY speech_hours DESC, folder"""


def dominated_sql(*, top: int, min_speech_s: float) -> str:
    """For each emotion, the ``top`` videos with the largest share of their speech time
    (over their tracks, newest model) in that emotion, among videos with at least
    ``min_speech_s`` seconds of speech."""
    shares = ", ".join(f"share_{e}" for e in EMOTIONS)
    order = ", ".join(f"'{e}'" for e in EMOTIONS)
    return f"""WITH {_LATEST},
{_CURRENT},
per_video AS (  -- each video's speech and emotion mix over its tracks
    SELECT video_id, sum(speech_s) AS speech_s,
           {_mix(indent=11)}
    FROM profiles JOIN latest {_UNIT_KEY}
    GROUP BY video_id
    HAVING sum(speech_s) >= {float(min_speech_s)!r}
),
long AS (UNPIVOT per_video ON {shares} INTO NAME share_of VALUE share),
ranked AS (
    SELECT replace(share_of, 'share_', '') AS emotion, video_id, share, speech_s,
           row_number() OVER (PARTITION BY share_of ORDER BY share DESC, video_id) AS rank
    FROM long
)
SELECT emotion, rank, v.path, share, speech_s / 60 AS speech_minutes
FROM ranked JOIN current_videos v USING (video_id)
WHERE rank <= {int(top)}
ORDER BY list_position([{order}], emotion), rank"""


def affect_sql() -> str:
    """Mean arousal and valence of each track's speech (newest model), most aroused
    first; tracks without them (no speech, or a model that gives none) are left out."""
    return f"""WITH {_LATEST},
{_CURRENT}
SELECT v.path, p.track_index, p.dominant_label, p.speech_s / 60 AS speech_minutes,
       p.mean_arousal, p.mean_valence
FROM profiles p JOIN latest {_UNIT_KEY} JOIN current_videos v USING (video_id)
WHERE p.speech_s > 0 AND p.mean_arousal IS NOT NULL AND p.mean_valence IS NOT NULL
ORDER BY p.mean_arousal DESC, v.path, p.track_index"""


def runs_sql(*, top: int) -> str:
    """The last ``top`` runs with their counts, the speech they tagged (units still
    visible: a unit replaced later belongs to the run that replaced it) and the mix
    shift (see :func:`_shift`) against the previous run that tagged speech."""
    new = "m.share_{e}"
    old = "lag(m.share_{e}) OVER w"
    return f"""WITH run_mix AS (  -- the emotion mix of the speech each run tagged
    SELECT run_id, sum(speech_s) / 3600 AS speech_hours,
           {_mix(indent=11)}
    FROM profiles GROUP BY run_id HAVING sum(speech_s) > 0
),
shifts AS (  -- against the run that tagged speech before it
    SELECT r.run_id,
           {_shift(new, old)} AS mix_shift_pp
    FROM runs r JOIN run_mix m USING (run_id)
    WINDOW w AS (ORDER BY r.started_at, r.run_id)
)
SELECT r.started_at, r.run_id, r.flow, r.model_version, r.status,
       r.n_seen, r.n_tagged, r.n_skipped, r.n_failed,
       m.speech_hours, s.mix_shift_pp
FROM runs r LEFT JOIN run_mix m USING (run_id) LEFT JOIN shifts s USING (run_id)
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT {int(top)}"""


def failures_sql(*, top: int) -> str:
    """The ``top`` most recently seen videos that failed (or were tagged only in part),
    with the error recorded for them."""
    return f"""WITH {_CURRENT}
SELECT last_seen_at, path, status, error
FROM current_videos
WHERE status IN ('failed', 'partial')
ORDER BY last_seen_at DESC, path
LIMIT {int(top)}"""

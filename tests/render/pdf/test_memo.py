"""The writer's per-process caches keep what documents share and forget what one document alone has."""

from agreementgen.render.pdf import fonts


def _made(cache: fonts.Memo, key: str, log: list[str]) -> str:
    return cache.get(key, lambda: log.append(key) or key.upper())


def test_a_value_only_one_document_asks_for_is_made_each_time_and_not_kept() -> None:
    cache, log = fonts.Memo(8), []
    fonts.next_document()
    assert _made(cache, "Lensfield Medical Practice", log) == "LENSFIELD MEDICAL PRACTICE"
    assert _made(cache, "Lensfield Medical Practice", log) == "LENSFIELD MEDICAL PRACTICE"
    assert log == ["Lensfield Medical Practice", "Lensfield Medical Practice"]
    assert not cache.items


def test_a_value_a_second_document_asks_for_is_kept_and_replayed() -> None:
    cache, log = fonts.Memo(8), []
    fonts.next_document()
    _made(cache, "The practice will", log)
    fonts.next_document()
    _made(cache, "The practice will", log)
    _made(cache, "The practice will", log)
    fonts.next_document()
    _made(cache, "The practice will", log)
    assert log == ["The practice will", "The practice will"]
    assert list(cache.items) == ["The practice will"]


def test_the_cache_holds_at_most_its_size_least_recently_used_out_first() -> None:
    cache, log = fonts.Memo(2), []
    for _ in range(2):
        fonts.next_document()
        for key in ("a", "b", "c"):
            _made(cache, key, log)
    assert list(cache.items) == ["b", "c"]


def test_what_the_cache_remembers_asking_for_is_bounded() -> None:
    cache, log = fonts.Memo(2), []
    fonts.next_document()
    for n in range(3 * fonts._SEEN):
        _made(cache, str(n), log)
    assert len(cache.seen) <= fonts._SEEN

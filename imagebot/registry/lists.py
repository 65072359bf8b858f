"""A client's tag lists, through the process's ``SharedAnswers`` when it has one.

Listing itself is ``listing.py``'s; this decides when another asker's answer fits this one's
question. A list cut off at ``max_tags`` keeps the deployed tags of the asker that fetched it,
so it fits only an asker whose deployed tags it holds; a Hub list that stopped early (newest
first, once the policy had its tag) fits only an asker who would have stopped by then too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from imagebot.config import RegistrySettings
from imagebot.registry.credentials import CredentialStore
from imagebot.registry.endpoints import Endpoint
from imagebot.registry.listing import HubTag, Listing, capped, list_hub_tags, list_tags
from imagebot.registry.transport import Transport

if TYPE_CHECKING:  # the fleet's module is loaded by whoever shares answers (the operator)
    from imagebot.registry.fleet import Freshness, SharedAnswers

Enough = Callable[[Sequence[HubTag]], bool]
HubAnswer = tuple[list[HubTag], str | None, bool]
"""The Hub's tags, the truncation warning, and whether ``enough`` stopped the paging."""


class Lists:
    """One client's way to its tag lists; ``freshness`` is set for each cycle by the owner of
    the shared answers (until then no shared answer is young enough: each list is fetched)."""

    def __init__(
        self,
        transport: Transport,
        settings: RegistrySettings,
        credentials: CredentialStore,
        shared: SharedAnswers | None = None,
    ) -> None:
        self._transport, self._settings = transport, settings
        self._credentials, self._shared = credentials, shared
        self.freshness: Freshness | None = None

    def _fresh(self) -> Freshness:
        if self.freshness is None:
            from imagebot.registry.fleet import Freshness

            self.freshness = Freshness()
        return self.freshness

    def tags(self, endpoint: Endpoint, keep: set[str], *, times: bool = False) -> Listing:
        """``/v2/<name>/tags/list``, or the answer another asker with the same login got.
        ``times`` asks for the push times some registries put in that answer (gcr.io): an
        answer asked without them is never handed to an asker that wants them."""

        def fetch() -> Listing:
            return list_tags(self._transport, endpoint, self._settings, keep=keep, times=times)

        if self._shared is None:
            return fetch()

        def fits(found: Listing) -> bool:
            return found.warning is None or keep <= set(found.tags)

        url = endpoint.url("tags/list")
        kind = "tags+times" if times else "tags"
        key = self._shared.key(kind, endpoint, url, self._settings, self._credentials)
        listing = self._shared.get(key, self._fresh(), fetch, fits, lambda f: len(f.tags))
        # Another asker's deployed tags past the cap are not this one's to see.
        tags = capped(listing.tags, self._settings.max_tags, keep, str)
        return replace(listing, tags=tags)  # the shared one stays as it was

    def hub_tags(
        self, endpoint: Endpoint, keep: set[str], enough: Enough
    ) -> tuple[list[HubTag], str | None]:
        """The Hub API's tags (asked without a login, so shared by every asker)."""
        if self._shared is None:
            return list_hub_tags(self._transport, endpoint, self._settings, enough, keep=keep)
        stopped: list[bool] = []

        def noting(found: Sequence[HubTag]) -> bool:
            stopped[:] = [enough(found)]
            return stopped[0]

        def fetch() -> HubAnswer:
            found, warning = list_hub_tags(
                self._transport, endpoint, self._settings, noting, keep=keep
            )
            return found, warning, bool(stopped and stopped[0])

        def fits(answer: HubAnswer) -> bool:
            found, warning, early = answer
            cut = warning is not None and not keep <= {t.name for t in found}
            return not cut and (not early or enough(found))

        key = self._shared.key("hub", endpoint, endpoint.repository, self._settings, None)
        found, warning, _ = self._shared.get(key, self._fresh(), fetch, fits, lambda a: len(a[0]))
        return list(found), warning

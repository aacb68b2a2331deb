"""Erasure and the other rights inside the fulfilment service: built from its runtime."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.catalogue.model import Catalogue
from services.erasure.flow import Erasure
from services.erasure.rights import HANDLED
from services.erasure.rights import Rights as Rights
from services.erasure.settings import ErasureSettings
from services.erasure.systems import ErasureSystems
from services.erasure.worker import erasure_loop
from services.locator.locate import Locator
from services.locator.settings import LocatorSettings
from services.runtime.host import Runtime
from services.systems.registry import SourceSystems

__all__ = ["HANDLED", "background", "build_rights"]


def build_erasure(catalogue: Catalogue, *, server_url: str | None, artifact_keys: str) -> Erasure:
    settings = ErasureSettings()
    locator_settings = LocatorSettings()
    key = settings.hash_key(artifact_keys)
    systems = ErasureSystems(
        catalogue,
        SourceSystems.configured(
            catalogue,
            server_url=server_url,
            read_only=False,
            application_name="dsr-erasure",
            settings=locator_settings,
        ),
        hash_key=key,
    )
    locator = Locator.from_catalogue(catalogue, server_url=server_url, settings=locator_settings)
    artifacts = ArtifactStore(ConfiguredKeys.parse(artifact_keys))
    return Erasure(catalogue, systems, locator, artifacts, settings, key)


def build_rights(catalogue: Catalogue, runtime: Runtime) -> Rights:
    erasure = build_erasure(
        catalogue, server_url=runtime.settings.database_url, artifact_keys=runtime.settings.artifact_keys
    )
    return Rights(erasure, erasure.hash_key)


def background(rights: Rights, runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    return [erasure_loop(rights.erasure, runtime.pool, rights.erasure.settings.erasure_poll_seconds)]

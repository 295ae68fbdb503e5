"""The dependency-injector container: the one place that names concrete adapters.

Tests override a provider with a fake (`container.clock.override(providers.Object(fake))`);
nothing else in the code base pulls from the container.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from salesbot.adapters.system_clock import SystemClock


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency()

    clock = providers.Singleton(SystemClock)

    # --- persistence (issue 3) ---

    # --- language model (issue 4) ---

    # --- Telegram user accounts (issue 5) ---

    # --- admin bot (issue 6) ---

    # --- use-cases ---

"""Email digests of new developments: what goes in one (`build`), how it looks (`render`, `charts`, `safe_text`), how
it is configured (`config`), sent (`mailer`) and delivered exactly once per period through the outbox (`delivery`),
and the `send_digest` Prefect flow (`flow`).

Import from the modules: this package's `__init__` imports nothing, so `flows.digest.render` does not load Prefect.
"""

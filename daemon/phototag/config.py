"""Settings: defaults < config file (TOML) < PHOTOTAG_* environment < command-line flags.

One ``Settings`` object is built at start (and again on reload) by :func:`load_settings`;
every other module receives the part it needs. Settings and their sections are frozen: a
reload builds a new ``Settings``, and the daemon hands each component its new section
(``runtime/reload.py``), so nothing holds a value that silently changed under it.
Invalid values and unknown keys raise :class:`ConfigError` with one message naming the
key and where it came from.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from phototag.errors import ConfigError
from phototag.keywords import DEFAULT_MAX_KEYWORD_WORDS, STOP_WORDS, KeywordPolicy
from phototag.paths import (
    INDEX_NAME,
    SOCKET_NAME,
    default_config_path,
    default_inbox,
    default_runtime_dir,
    default_state_dir,
)
from phototag.redact import redact_urls_in

ENV_PREFIX = "PHOTOTAG_"

JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jpe")
IN_PLACE_EXTENSIONS = (*JPEG_EXTENSIONS, ".png", ".tif", ".tiff", ".webp")
SIDECAR_EXTENSIONS = (
    ".heic",
    ".heif",
    ".hif",
    ".cr2",
    ".cr3",
    ".crw",
    ".nef",
    ".nrw",
    ".arw",
    ".srf",
    ".sr2",
    ".dng",
    ".raf",
    ".orf",
    ".rw2",
    ".pef",
    ".srw",
    ".x3f",
    ".3fr",
    ".iiq",
    ".erf",
    ".kdc",
    ".mrw",
)
DEFAULT_EXTENSIONS = (*IN_PLACE_EXTENSIONS, *SIDECAR_EXTENSIONS)


MOST_INFLIGHT = 256


def _inflight(value: Any) -> Any:
    """``"auto"`` or a whole number in [1, 256]; one message for any other value (a plain
    union would report one error per member)."""
    if value == "auto" or value is None:
        return value
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f'"auto" or a number from 1 to {MOST_INFLIGHT}, not {value!r}') from None
    if number != value and str(number) != str(value).strip():
        raise ValueError(f'"auto" or a whole number, not {value!r}')
    if not 1 <= number <= MOST_INFLIGHT:
        raise ValueError(f'"auto" or a number from 1 to {MOST_INFLIGHT}, not {number}')
    return number


Inflight = Annotated[int | Literal["auto"], BeforeValidator(_inflight)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VlmPartSettings(_Section):
    """``[vlm.description]`` / ``[vlm.keywords]``: that field from another model or server.
    A key left unset follows ``[vlm]``."""

    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    api_key_file: Path | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    max_inflight: Inflight | None = None
    max_inflight_cap: int | None = Field(default=None, ge=1, le=MOST_INFLIGHT)
    max_edge_px: int | None = Field(default=None, ge=64, le=8192)
    profile: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=64)


class VlmSettings(_Section):
    """An OpenAI-compatible vision-language model server (vLLM, Ollama, llama.cpp, ...)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    api_key: SecretStr | None = None  # prefer api_key_env or api_key_file
    api_key_env: str = "OPENAI_API_KEY"
    api_key_file: Path | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    # "auto": phototag finds the server's useful concurrency itself (taggers/vlm/adaptive.py),
    # within [1, max_inflight_cap]; a number fixes it (a cap on a shared server)
    max_inflight: Inflight = "auto"
    max_inflight_cap: int = Field(default=64, ge=1, le=MOST_INFLIGHT)
    max_retries: int = Field(default=4, ge=0, le=20)
    retry_base_s: float = Field(default=1.0, gt=0)  # first backoff; doubles, with jitter
    retry_max_s: float = Field(default=60.0, gt=0)  # longest wait; a longer Retry-After pauses
    max_edge_px: int = Field(default=1024, ge=64, le=8192)
    max_image_bytes: int = Field(default=2_000_000, ge=20_000)  # JPEG sent; downscaled to fit
    jpeg_quality: int = Field(default=85, ge=30, le=100)
    profile: str = "default"
    profiles: dict[str, str] = Field(default_factory=dict)  # user prompt profiles: name -> text
    language: str = "English"
    vocabulary_file: Path | None = None
    preflight_interval_s: float = Field(default=300.0, gt=0)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=64)
    description: VlmPartSettings | None = None  # the description from another model
    keywords: VlmPartSettings | None = None  # the keywords from another model


FactKindName = Literal[
    "camera", "lens", "focal_length", "date", "season", "time_of_day", "colour", "tone"
]


class LocalSettings(_Section):
    """The embedded offline tagger."""

    classifier: bool = True
    top_k: int = Field(default=4, ge=1, le=20)
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    title_min_confidence: float = Field(default=0.45, ge=0, le=1)  # below: no title
    places: bool = True  # offline reverse geocoding of GPS; turn off for privacy
    faces: bool = True
    figures: bool = True  # people who do not face the camera (HOG person detector)
    fact_keywords: list[FactKindName] = Field(default_factory=list)  # as Camera|..., Date|...
    with_vlm: bool = True  # add facts and places to a VLM's answer
    fallback: bool = False  # tag with the local model while the VLM is unhealthy


class MetadataSettings(_Section):
    write: bool = True  # false: JSONL-only operation, nothing written into photos
    sidecar_naming: Literal["append", "replace"] = "append"  # IMG_1.CR3.xmp | IMG_1.xmp
    keep_mtime: bool = True
    overwrite: Literal["fill-empty", "replace"] = "fill-empty"  # a person's title/description
    readonly_fallback: Literal["fail", "sidecar"] = "fail"
    # Only ``--overwrite`` on a command line sets this, for that run: a text a person
    # changed after phototag wrote it is theirs, whatever a file or the environment says.
    _overwrite_edits: bool = PrivateAttr(default=False)

    @property
    def overwrite_edits(self) -> bool:
        """May this run replace a text a person changed after phototag wrote it?"""
        return self._overwrite_edits

    def overwrite_for_this_run(self) -> MetadataSettings:
        """``--overwrite``: these settings, replacing a person's texts in this run, even
        those they changed after phototag wrote them."""
        copy = self.model_copy(update={"overwrite": "replace"})
        copy._overwrite_edits = True  # a private attribute: frozen covers the fields only
        return copy

    # a photo with several hard links: a sidecar, or a rewrite of its own inode (after a
    # full backup copy) that keeps every link joined
    hardlinks: Literal["sidecar", "in-place"] = "sidecar"
    # which text dc:description / Caption-Abstract carry; the other goes to the
    # accessibility field ExtDescrAccessibility
    description_field: Literal["caption", "description"] = "caption"


class OutputSettings(_Section):
    jsonl_max_bytes: int = Field(default=50_000_000, ge=10_000)
    jsonl_retention_days: int = Field(default=90, ge=1)
    summary_interval_s: float = Field(default=60.0, gt=0)
    metrics_interval_s: float = Field(default=15.0, gt=0)
    metrics_history: int = Field(default=240, ge=1, le=100_000)
    recent_count: int = Field(default=20, ge=0, le=1000)
    prometheus: bool = False


class Settings(BaseSettings):
    """Everything phototag can be told. Field names are the TOML keys."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    roots: list[Path] = Field(default_factory=lambda: [default_inbox()])
    recursive: bool = True
    extensions: list[str] = Field(default_factory=lambda: list(DEFAULT_EXTENSIONS))
    include: list[str] = Field(default_factory=list)  # globs; empty means everything
    exclude: list[str] = Field(default_factory=list)
    follow_symlinks: bool = False
    debounce_s: float = Field(default=2.0, ge=0)
    # quiet time for a file still open for writing whose close is never seen (polling), or
    # one no kernel lease can vouch for (NFS, SMB, FUSE, another user's file)
    writer_quiet_s: float = Field(default=30.0, ge=0)
    workers: int = Field(default=2, ge=1, le=64)
    max_attempts: int = Field(default=3, ge=1)  # a job in flight at this many crashes fails
    backend: Literal["local", "openai"] = "local"
    max_keywords: int = Field(default=25, ge=1, le=200)
    stop_words: list[str] = Field(default_factory=lambda: sorted(STOP_WORDS))
    max_keyword_words: int = Field(default=DEFAULT_MAX_KEYWORD_WORDS, ge=1, le=20)
    keyword_case: Literal["lower", "title", "keep"] = "lower"
    max_image_pixels: int = Field(default=200_000_000, ge=1_000_000)
    max_edge_px: int = Field(default=384, ge=64, le=8192)  # what the embedded tagger sees
    reconcile_interval_s: float = Field(default=600.0, gt=0)
    watch_mode: Literal["auto", "inotify", "polling"] = "auto"  # auto: polling on network/FUSE
    poll_interval_s: float = Field(default=5.0, gt=0)  # how often a polled tree is stat'ed
    max_file_bytes: int = Field(default=1_000_000_000, ge=1_000_000)  # larger: failed unread
    min_free_state_bytes: int = Field(default=64_000_000, ge=0)  # less free: pause, resume
    state_dir: Path = Field(default_factory=default_state_dir)
    runtime_dir: Path = Field(default_factory=default_runtime_dir)
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    dry_run: bool = False

    vlm: VlmSettings = Field(default_factory=VlmSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    metadata: MetadataSettings = Field(default_factory=MetadataSettings)
    outputs: OutputSettings = Field(default_factory=OutputSettings)

    @field_validator("roots", "state_dir", "runtime_dir", mode="after")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [Path(os.path.abspath(p.expanduser())) for p in value]
        return Path(os.path.abspath(value.expanduser()))

    @field_validator("extensions", mode="after")
    @classmethod
    def _dotted_lower(cls, value: list[str]) -> list[str]:
        return ["." + e.lower().lstrip(".") for e in value]

    @field_validator("roots", mode="after")
    @classmethod
    def _non_empty(cls, value: list[Path]) -> list[Path]:
        if not value:
            raise ValueError("at least one root folder is needed")
        return value

    @property
    def keyword_policy(self) -> KeywordPolicy:
        """The keyword settings, as both backends apply them."""
        return KeywordPolicy.of(
            stop_words=self.stop_words, max_words=self.max_keyword_words, case=self.keyword_case
        )

    def overwrite_for_this_run(self) -> Settings:
        """``--overwrite``: these settings with :meth:`MetadataSettings.overwrite_for_this_run`."""
        return self.model_copy(update={"metadata": self.metadata.overwrite_for_this_run()})

    @property
    def writes_metadata(self) -> bool:
        """Whether this run writes into photos (not a dry run, and ``[metadata] write``)."""
        return not self.dry_run and self.metadata.write

    @property
    def index_path(self) -> Path:
        return self.state_dir / INDEX_NAME

    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / SOCKET_NAME

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as JSON-able data, secrets replaced by '**********'
        and credentials in URLs (``http://user:key@host``) by ``[REDACTED]``."""
        return redact_urls_in(json.loads(self.model_dump_json()))


class _DictSource(PydanticBaseSettingsSource):
    """The parsed config file as a settings source (lowest precedence above defaults)."""

    def __init__(self, settings_cls: type[BaseSettings], data: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = dict(data)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc


def _source_of(
    loc: tuple[Any, ...], *, file_data: Mapping[str, Any], path: Path, cli: Mapping[str, Any]
) -> str:
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if keys and _holds(cli, keys):  # nested: a flag such as --model gives only vlm.model
        return "command line"
    env_name = ENV_PREFIX + "__".join(keys).upper()
    if any(name.upper() == env_name for name in os.environ):
        return f"environment variable {env_name}"
    if keys and keys[0] in file_data:
        return str(path)
    return "defaults"


def _holds(data: Mapping[str, Any], keys: list[str]) -> bool:
    """Whether nested ``data`` gives the value at ``keys`` (or a value above them)."""
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping):
            return True
        if key not in node:
            return False
        node = node[key]
    return True


def load_settings(
    *,
    config_file: Path | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings. ``config_file`` None means the XDG path, if it exists.

    ``cli`` holds command-line values (None means "not given"); ``PHOTOTAG_*`` variables
    come from ``os.environ``.
    """
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    path = config_file or default_config_path()
    if config_file is not None and not path.exists():
        raise ConfigError(f"{path}: config file not found")
    file_data = read_config_file(path) if path.exists() else {}

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, _DictSource(settings_cls, file_data)

    try:
        return _Loaded(**cli)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(k) for k in loc) or "(top level)"
            where = _source_of(loc, file_data=file_data, path=path, cli=cli)
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key} ({where}): {msg}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None

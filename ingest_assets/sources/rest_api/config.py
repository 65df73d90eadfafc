"""The `rest_api` source type's config model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ingest_assets.config.common import (
    LoadOptions,
    SourceBase,
    library_checks_apply,
)
from ingest_assets.sources.rest_api.models import RestApiBlock


class RestApiSourceConfig(SourceBase):
    """A source of `type: rest_api`."""

    type: Literal["rest_api"]
    rest_api: RestApiBlock

    @field_validator("rest_api", mode="before")
    @classmethod
    def _validate_block(cls, value: Any, info: ValidationInfo) -> RestApiBlock:
        """Validate the block, then check secrets and dlt's own rules, naming this source.

        The block's structure (`RestApiBlock`) is checked for every source. The secret checks
        (against the options of dlt's authenticators and its secret query parameters) and dlt's
        own rules (paginators, incremental params, parent/child references) import dlt (~0.5 s):
        they run for an enabled source, and for a disabled one only when the validation context
        asks (`library_checks_apply`: `ingest validate --build`), so a disabled example in
        sources.yml does not slow down `ingest status` or `validate`.

        Raises:
            ValidationError: one line per problem, located under `rest_api` (pydantic prefixes
                the location of errors raised here with the field's own).
        """
        block = RestApiBlock.model_validate(value)
        if not library_checks_apply(info):
            return block
        # dlt's rules (and its auth types and secret query parameters): imported only here
        from ingest_assets.sources.rest_api.validation import _dlt_problems, _secret_problems

        source_name = info.data.get("name") or "<source name>"
        problems = _secret_problems(block, source_name) or _dlt_problems(block, source_name)
        if problems:
            raise ValidationError.from_exception_data(
                "rest_api",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("rest_api", message), loc=loc, input=None
                    )
                    for loc, message in problems
                ],
            )
        return block

    def table_descriptions(self) -> dict[str, str]:
        """Descriptions of the resources that have one, by table name."""
        return {r.table: r.description for r in self.rest_api.resources if r.description}

    def table_options(self) -> dict[str, LoadOptions]:
        """The checks and guards of every resource, by table name; load hints stay
        with dlt (they may come from `resource_defaults`)."""
        return {
            r.table: LoadOptions(
                allow_empty=r.allow_empty,
                allow_empty_replace=r.allow_empty_replace,
                max_shrink=r.max_shrink,
                allow_shrink=r.allow_shrink,
                freshness=r.freshness,
            )
            for r in self.rest_api.resources
        }

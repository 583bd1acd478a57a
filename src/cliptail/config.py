"""Loading and validating the workflow configuration.

The schema (``config/schema/config.schema.yaml``) is a JSON-schema with a description and default
for every key. :func:`validate` checks a config dict against it, fills defaults in place, and
raises :class:`ConfigError` naming the offending key path and the reason.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not follow the schema."""


def load_yaml(path: str | os.PathLike) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        # the offending key is in the message, not in the path
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(",".join(extra))
    return ".".join(parts) or "<top level>"


def _fill_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _fill_defaults(jsonschema.Draft202012Validator)


def validate(config: dict, schema: Mapping[str, Any] | str | os.PathLike) -> dict:
    """Validate ``config`` against ``schema`` (a mapping or a YAML path), filling defaults in place."""
    if not isinstance(schema, Mapping):
        schema = load_yaml(schema)
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  - {_key_path(e)}: {_reason(e)}" for e in errors[:10]]
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise ConfigError("invalid configuration:\n" + "\n".join(lines) + more)
    return config


def _reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key (allowed here: {allowed})"
    return error.message


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Recursively merge ``override`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out

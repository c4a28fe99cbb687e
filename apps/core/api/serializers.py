from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import HyperlinkedIdentityField, HyperlinkedRelatedField, PKOnlyObject


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 CSV with a header row, at most 5 MB.")


_CONTEXT_BOUND = (serializers.SerializerMethodField, HyperlinkedRelatedField, HyperlinkedIdentityField)
_READABLE: dict[type, list] = {}


class StaticFieldsMixin:
    """Output built from fields made once per class, not once per object.

    DRF builds a ModelSerializer's fields (model introspection, ~20 field objects) every time an
    instance is serialized, nested ones included: for a one-row read that is most of the Python
    time. A serializer with this mixin renders through the readable fields of one prototype of its
    class, built on first use and shared afterwards (the fields keep no per-object state). Only for
    serializers whose output does not depend on the context or the instance beyond attribute
    access: a `SerializerMethodField` or a hyperlinked field is refused when the prototype is made.
    Input (validation), `.fields` and the OpenAPI schema are DRF's as usual."""

    def to_representation(self, instance: Any) -> dict:
        readable = _READABLE.get(type(self))
        if readable is None:
            readable = _READABLE[type(self)] = _prototype_fields(type(self))
        ret = {}
        for field in readable:
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[field.field_name] = None if check_for_none is None else field.to_representation(attribute)
        return ret


def _prototype_fields(cls: type) -> list:
    prototype = cls()
    readable = list(prototype._readable_fields)
    for field in readable:
        inner = getattr(field, "child", field)
        if isinstance(field, _CONTEXT_BOUND) or isinstance(inner, _CONTEXT_BOUND):
            raise TypeError(f"{cls.__name__}.{field.field_name}: {type(field).__name__} needs the context")
    return readable

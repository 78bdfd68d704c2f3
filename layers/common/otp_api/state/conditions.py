"""Conditions and values of DynamoDB writes, written once and read two ways: as the expression DynamoDB
evaluates, and in Python on the item a refused write returns (to tell why it was refused). So the rule a
condition states cannot drift from the reading of it. Only the few forms the verify state needs.

DynamoDB's semantics, kept here: a comparison with an attribute the item lacks is false (DynamoDB Developer
Guide, Comparison operator and function reference), and NOT of it is true.
"""

import operator
from typing import Any

from msgspec import Struct

Item = dict[str, Any]  # an item's attributes, read: numbers as int, strings as str, number sets as set[int]
Values = dict[str, Any]  # the values of the expression's placeholders (":now")


def read_item(attributes: dict[str, dict[str, Any]]) -> Item:
    """An item as DynamoDB's low-level API returns it ({"N": "5"}), in plain values."""
    item: Item = {}
    for name, typed in attributes.items():
        if "N" in typed:
            item[name] = int(typed["N"])
        elif "S" in typed:
            item[name] = typed["S"]
        elif "NS" in typed:
            item[name] = {int(number) for number in typed["NS"]}
    return item


class Attr(Struct, frozen=True):
    name: str

    def text(self) -> str:
        return self.name

    def of(self, item: Item, _values: Values) -> Any:
        return item.get(self.name)


class Value(Struct, frozen=True):
    placeholder: str  # ":now"

    def text(self) -> str:
        return self.placeholder

    def of(self, _item: Item, values: Values) -> Any:
        return values[self.placeholder]


Operand = Attr | Value


class IfNotExists(Struct, frozen=True):
    """`if_not_exists(attr, :default)`: a SET value, the attribute's own or the default."""

    attr: Attr
    default: Value

    def text(self) -> str:
        return f"if_not_exists({self.attr.text()}, {self.default.text()})"


class Cond:
    __slots__ = ()  # (a base of frozen Structs)

    def text(self) -> str:
        raise NotImplementedError

    def holds(self, item: Item, values: Values) -> bool:
        raise NotImplementedError


class Exists(Struct, Cond, frozen=True):
    attr: Attr

    def text(self) -> str:
        return f"attribute_exists({self.attr.text()})"

    def holds(self, item: Item, values: Values) -> bool:
        return self.attr.name in item


class Missing(Struct, Cond, frozen=True):
    attr: Attr

    def text(self) -> str:
        return f"attribute_not_exists({self.attr.text()})"

    def holds(self, item: Item, values: Values) -> bool:
        return self.attr.name not in item


_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<>": operator.ne, "=": operator.eq}


class Compare(Struct, Cond, frozen=True):
    left: Operand
    op: str  # ">", ">=", "<", "<>" or "="
    right: Operand

    def text(self) -> str:
        return f"{self.left.text()} {self.op} {self.right.text()}"

    def holds(self, item: Item, values: Values) -> bool:
        left, right = self.left.of(item, values), self.right.of(item, values)
        if left is None or right is None:  # an attribute the item lacks: false, as in DynamoDB
            return False
        return bool(_OPERATORS[self.op](left, right))


class Contains(Struct, Cond, frozen=True):
    """`contains(set_attr, :value)`: the number set holds the value."""

    attr: Attr
    value: Value

    def text(self) -> str:
        return f"contains({self.attr.text()}, {self.value.text()})"

    def holds(self, item: Item, values: Values) -> bool:
        return values[self.value.placeholder] in (item.get(self.attr.name) or set())


class AllOf(Struct, Cond, frozen=True):
    parts: tuple[Cond, ...]

    def text(self) -> str:  # one part alone unwrapped: DynamoDB refuses redundant parentheses
        return self.parts[0].text() if len(self.parts) == 1 else " AND ".join(f"({p.text()})" for p in self.parts)

    def holds(self, item: Item, values: Values) -> bool:
        return all(part.holds(item, values) for part in self.parts)


class AnyOf(Struct, Cond, frozen=True):
    parts: tuple[Cond, ...]

    def text(self) -> str:
        return self.parts[0].text() if len(self.parts) == 1 else " OR ".join(f"({p.text()})" for p in self.parts)

    def holds(self, item: Item, values: Values) -> bool:
        return any(part.holds(item, values) for part in self.parts)


class Not(Struct, Cond, frozen=True):
    part: Cond

    def text(self) -> str:
        return f"NOT ({self.part.text()})"

    def holds(self, item: Item, values: Values) -> bool:
        return not self.part.holds(item, values)

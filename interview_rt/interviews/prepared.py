"""The answer path's statements, compiled once from the models instead of once per call.

Django's ORM compiles every statement anew: on this 2-core machine 0.2-0.7 ms of Python per
SELECT, INSERT or UPDATE of these models against ~0.05 ms to run it in SQLite, so compiling was
most of a graded answer's database time (`bench/sql_profile.py`). The few statements every answer
and every connect runs (lock the session, log frames, save the session and the answer) are built
here once per model and database vendor from the models' own metadata (tables, columns, and each
field's own conversions both ways), and run through Django's connection, so transactions, the
debug query log and execute wrappers see them as usual. Everything else stays plain ORM.

Saving through these skips model signals; none of these models has a receiver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)


def _connection() -> Any:
    return connections[DEFAULT_DB_ALIAS]


class _Write:
    """A statement writing `fields` of a model, its SQL built once per database vendor."""

    def __init__(self, model: type[Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields: list[Field[Any, Any]] = [model._meta.get_field(name) for name in fields]  # type: ignore[misc]
        self._sql: dict[str, str] = {}

    def sql(self, connection: Any) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            sql = self._sql[connection.vendor] = self.build(connection.ops.quote_name)
        return sql

    def build(self, qn: Callable[[str], str]) -> str:
        raise NotImplementedError


class Insert(_Write):
    """INSERT of `fields` of a model, several rows in one executemany; auto_now_add fields are
    filled as save() fills them. The primary key must be a field in `fields` or auto-assigned (and
    then not set on the instances)."""

    def build(self, qn: Callable[[str], str]) -> str:
        columns = ", ".join(qn(f.column) for f in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        return f"INSERT INTO {qn(self.model._meta.db_table)} ({columns}) VALUES ({placeholders})"

    def run(self, objs: Sequence[Model]) -> None:
        if not objs:
            return
        connection = _connection()
        params = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields] for obj in objs]
        with connection.cursor() as cursor:
            if len(params) == 1:
                cursor.execute(self.sql(connection), params[0])
            else:
                cursor.executemany(self.sql(connection), params)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = connection.alias


class Update(_Write):
    """UPDATE of `fields` of one row by primary key (what save(update_fields=...) does)."""

    def build(self, qn: Callable[[str], str]) -> str:
        sets = ", ".join(f"{qn(f.column)} = %s" for f in self.fields)
        pk = self.model._meta.pk
        assert pk is not None
        return f"UPDATE {qn(self.model._meta.db_table)} SET {sets} WHERE {qn(pk.column)} = %s"

    def run(self, obj: Model) -> None:
        connection = _connection()
        pk = self.model._meta.pk
        assert pk is not None
        params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in self.fields]
        params.append(pk.get_db_prep_value(obj.pk, connection))
        with connection.cursor() as cursor:
            cursor.execute(self.sql(connection), params)


class _Reader:
    """Turns a row of `model`'s concrete columns into an instance, with each column's converters
    (the backend's and the field's, as the ORM's compiler applies them)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: dict[str, list[tuple[list[Callable[..., Any]], Any]]] = {}

    def columns(self, connection: Any, alias: str) -> str:
        qn = connection.ops.quote_name
        return ", ".join(f"{qn(alias)}.{qn(f.column)}" for f in self.fields)

    def converters(self, connection: Any) -> list[tuple[list[Callable[..., Any]], Any]]:
        found = self._converters.get(connection.vendor)
        if found is None:
            found = []
            for f in self.fields:
                col = f.get_col(self.model._meta.db_table)
                found.append((connection.ops.get_db_converters(col) + col.get_db_converters(connection), col))
            self._converters[connection.vendor] = found
        return found

    def build(self, connection: Any, values: Sequence[Any]) -> Model:
        converted = list(values)
        for i, (funcs, col) in enumerate(self.converters(connection)):
            for func in funcs:
                converted[i] = func(converted[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, converted)


class SelectOne:
    """SELECT one row of `model` by primary key, with the rows of forward foreign keys in
    `related` (paths such as "invitation__job", as select_related takes them), optionally FOR
    UPDATE (select_for_update; SQLite locks by BEGIN IMMEDIATE instead)."""

    def __init__(self, model: type[Model], *, related: Sequence[str] = (), for_update: bool = False) -> None:
        self.main = _Reader(model)
        # (parent index in self.joins or -1 for the main row, the foreign key, its reader)
        self.joins: list[tuple[int, Any, _Reader]] = []
        for path in related:
            parent, owner = -1, model
            for name in path.split("__"):
                fk: Any = owner._meta.get_field(name)
                index = next((k for k, (p, f, _r) in enumerate(self.joins) if p == parent and f is fk), None)
                if index is None:
                    self.joins.append((parent, fk, _Reader(cast(type[Model], fk.related_model))))
                    index = len(self.joins) - 1
                parent, owner = index, cast(type[Model], fk.related_model)
        self.for_update = for_update
        self._sql: dict[str, str] = {}

    def sql(self, connection: Any) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            qn = connection.ops.quote_name
            meta = self.main.model._meta
            assert meta.pk is not None
            columns = [self.main.columns(connection, "t")]
            joins = []
            for k, (parent, fk, reader) in enumerate(self.joins):
                other = reader.model._meta
                assert other.pk is not None
                alias, parent_alias = f"j{k}", "t" if parent < 0 else f"j{parent}"
                columns.append(reader.columns(connection, alias))
                join = "LEFT OUTER JOIN" if fk.null else "INNER JOIN"
                joins.append(
                    f" {join} {qn(other.db_table)} {qn(alias)}"
                    f" ON ({qn(parent_alias)}.{qn(fk.column)} = {qn(alias)}.{qn(other.pk.column)})"
                )
            sql = (
                f"SELECT {', '.join(columns)} FROM {qn(meta.db_table)} {qn('t')}{''.join(joins)}"
                f" WHERE {qn('t')}.{qn(meta.pk.column)} = %s"
            )
            if self.for_update and connection.features.has_select_for_update:
                sql += " FOR UPDATE"
            self._sql[connection.vendor] = sql
        return sql

    def get(self, pk: Any) -> Model | None:
        connection = _connection()
        if self.for_update and connection.features.has_select_for_update and connection.get_autocommit():
            # As the ORM's select_for_update: a lock only means something inside a transaction.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        pk_field = self.main.model._meta.pk
        assert pk_field is not None
        with connection.cursor() as cursor:
            cursor.execute(self.sql(connection), [pk_field.get_db_prep_value(pk, connection)])
            row = cursor.fetchone()
        if row is None:
            return None
        start = len(self.main.fields)
        obj = self.main.build(connection, row[:start])
        built: list[Model | None] = []
        for parent, fk, reader in self.joins:
            values = row[start : start + len(reader.fields)]
            start += len(reader.fields)
            owner = obj if parent < 0 else built[parent]
            # A null foreign key's row is all NULLs (outer join): no instance, as select_related.
            child = None if owner is None or values[0] is None else reader.build(connection, values)
            if owner is not None:
                fk.set_cached_value(owner, child)
            built.append(child)
        return obj


_OPERATORS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class Select:
    """SELECT rows of `model` where each of `where`'s fields equals a parameter, in `order_by`
    (column names, "-" for descending), at most `limit`."""

    def __init__(
        self, model: type[Model], where: Sequence[str], *, order_by: Sequence[str] = (), limit: int | None = None
    ) -> None:
        self.reader = _Reader(model)
        # "field" is equality; "field__gt" and the like compare.
        self.where: list[tuple[Any, str]] = []
        for name in where:
            field_name, _, lookup = name.partition("__")
            self.where.append((model._meta.get_field(field_name), _OPERATORS[lookup or "exact"]))
        self.order_by = list(order_by)
        self.limit = limit
        self._sql: dict[str, str] = {}

    def sql(self, connection: Any) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            qn = connection.ops.quote_name
            meta = self.reader.model._meta
            conditions = " AND ".join(f"{qn(f.column)} {op} %s" for f, op in self.where)
            sql = f"SELECT {self.reader.columns(connection, meta.db_table)} FROM {qn(meta.db_table)} WHERE {conditions}"
            if self.order_by:
                order = ", ".join(
                    f"{qn(meta.get_field(name.lstrip('-')).column)}{' DESC' if name.startswith('-') else ' ASC'}"  # type: ignore[union-attr]
                    for name in self.order_by
                )
                sql += f" ORDER BY {order}"
            if self.limit is not None:
                sql += f" LIMIT {int(self.limit)}"
            self._sql[connection.vendor] = sql
        return sql

    def all(self, *values: Any) -> list[Model]:
        connection = _connection()
        params = [f.get_db_prep_value(v, connection) for (f, _op), v in zip(self.where, values, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(self.sql(connection), params)
            rows = cursor.fetchall()
        return [self.reader.build(connection, row) for row in rows]

    def first(self, *values: Any) -> Model | None:
        found = self.all(*values)
        return found[0] if found else None

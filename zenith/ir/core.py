"""The IR's data structures: values with use lists, operations, blocks, regions.

Operations in a block form a doubly linked list, so insertion and erasure are
O(1); a value's uses are an insertion-ordered dict, so replace-all-uses walks
only the uses of that value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from zenith.ir.diagnostics import UNKNOWN, Location
from zenith.ir.types import TensorType

if TYPE_CHECKING:
    from zenith.ir.opdef import OpDef

Use = tuple["Operation", int]


class Value:
    """An SSA value: defined once, used by operands of later operations."""

    __slots__ = ("_uses", "name_hint", "type")

    def __init__(self, type: TensorType, name_hint: str | None = None) -> None:
        self.type = type
        self._uses: dict[Use, None] = {}
        self.name_hint = name_hint

    @property
    def uses(self) -> list[Use]:
        """(operation, operand index) pairs that read this value."""
        return list(self._uses)

    @property
    def users(self) -> list[Operation]:
        """Operations that read this value (each once, in use order)."""
        return list(dict.fromkeys(op for op, _ in self._uses))

    @property
    def has_uses(self) -> bool:
        return bool(self._uses)

    @property
    def num_uses(self) -> int:
        return len(self._uses)

    def replace_all_uses_with(self, new: Value) -> None:
        """Make every user read ``new`` instead of this value."""
        if new is self:
            return
        for op, idx in list(self._uses):
            op.set_operand(idx, new)

    def replace_uses_if(self, new: Value, pred) -> None:
        """Replace the uses for which ``pred(op, index)`` is true."""
        for op, idx in list(self._uses):
            if pred(op, idx):
                op.set_operand(idx, new)

    @property
    def owner(self) -> Operation | Block:
        raise NotImplementedError


class OpResult(Value):
    """The ``index``-th result of ``op``."""

    __slots__ = ("index", "op")

    def __init__(self, type: TensorType, op: Operation, index: int) -> None:
        super().__init__(type)
        self.op = op
        self.index = index

    @property
    def owner(self) -> Operation:
        return self.op

    def __repr__(self) -> str:
        return f"<OpResult #{self.index} of {self.op.name}: {self.type}>"


class BlockArgument(Value):
    """The ``index``-th argument of ``block``."""

    __slots__ = ("block", "index")

    def __init__(self, type: TensorType, block: Block, index: int) -> None:
        super().__init__(type)
        self.block = block
        self.index = index

    @property
    def owner(self) -> Block:
        return self.block

    def __repr__(self) -> str:
        return f"<BlockArgument #{self.index}: {self.type}>"


class Operation:
    """A generic operation ``dialect.op`` with operands, results, attributes, regions."""

    __slots__ = (
        "_opdef",
        "_operands",
        "_order",
        "attributes",
        "loc",
        "name",
        "next",
        "parent",
        "prev",
        "regions",
        "results",
    )

    def __init__(
        self,
        name: str,
        operands: list[Value] | tuple[Value, ...] = (),
        result_types: list[TensorType] | tuple[TensorType, ...] = (),
        attributes: dict[str, Any] | None = None,
        regions: list[Region] | None = None,
        loc: Location = UNKNOWN,
    ) -> None:
        self.name = name
        self._operands: list[Value] = []
        self.results = [OpResult(t, self, i) for i, t in enumerate(result_types)]
        self.attributes: dict[str, Any] = dict(attributes) if attributes else {}
        self.regions: list[Region] = []
        self.parent: Block | None = None
        self.prev: Operation | None = None
        self.next: Operation | None = None
        self.loc = loc
        self._order = -1
        self._opdef: OpDef | bool | None = False
        for v in operands:
            self._add_operand(v)
        for r in regions or ():
            self.add_region(r)

    # -- operands -------------------------------------------------------
    @property
    def operands(self) -> tuple[Value, ...]:
        return tuple(self._operands)

    @property
    def num_operands(self) -> int:
        return len(self._operands)

    def operand(self, i: int) -> Value:
        return self._operands[i]

    def _add_operand(self, v: Value) -> None:
        if not isinstance(v, Value):
            raise TypeError(f"operand of {self.name} must be a Value, got {type(v).__name__}")
        v._uses[(self, len(self._operands))] = None
        self._operands.append(v)

    def set_operand(self, i: int, v: Value) -> None:
        old = self._operands[i]
        del old._uses[(self, i)]
        v._uses[(self, i)] = None
        self._operands[i] = v

    def set_operands(self, values: list[Value]) -> None:
        """Replace the whole operand list."""
        self.drop_operands()
        for v in values:
            self._add_operand(v)

    def drop_operands(self) -> None:
        for i, v in enumerate(self._operands):
            v._uses.pop((self, i), None)
        self._operands = []

    # -- results --------------------------------------------------------
    @property
    def result(self) -> OpResult:
        """The single result (error if the op has not exactly one)."""
        if len(self.results) != 1:
            raise ValueError(f"{self.name} has {len(self.results)} results, not 1")
        return self.results[0]

    @property
    def result_types(self) -> list[TensorType]:
        return [r.type for r in self.results]

    # -- regions --------------------------------------------------------
    def add_region(self, region: Region) -> Region:
        region.parent = self
        self.regions.append(region)
        return region

    # -- definition -----------------------------------------------------
    @property
    def opdef(self) -> OpDef | None:
        """The registered definition of this op, or None if unregistered."""
        if self._opdef is False:
            from zenith.ir.opdef import lookup

            self._opdef = lookup(self.name)
        return self._opdef  # type: ignore[return-value]

    def attr(self, key: str) -> Any:
        """An attribute value, falling back to the op definition's default."""
        if key in self.attributes:
            return self.attributes[key]
        od = self.opdef
        if od is not None and key in od.attrs:
            return od.attrs[key].default
        raise KeyError(f"{self.name} has no attribute '{key}'")

    def has_trait(self, trait: str) -> bool:
        od = self.opdef
        return od is not None and trait in od.traits

    # -- structure ------------------------------------------------------
    @property
    def parent_op(self) -> Operation | None:
        """The operation whose region holds this op (None at function level)."""
        b = self.parent
        if b is None or b.parent is None:
            return None
        return b.parent.parent

    def is_before_in_block(self, other: Operation) -> bool:
        """Whether this op comes before ``other`` in their common block."""
        assert self.parent is other.parent and self.parent is not None
        self.parent._ensure_order()
        return self._order < other._order

    def walk(self) -> Iterator[Operation]:
        """This op, then every op nested in its regions, in pre-order."""
        yield self
        for region in self.regions:
            yield from region.walk()

    def erase(self) -> None:
        """Unlink and destroy; the op's results must have no uses."""
        for r in self.results:
            if r._uses:
                users = ", ".join(sorted({op.name for op, _ in r._uses}))
                raise ValueError(f"cannot erase {self.name}: result still used by {users}")
        for inner in list(self.walk())[1:]:
            inner.drop_operands()
        self.drop_operands()
        if self.parent is not None:
            self.parent._unlink(self)

    def detach(self) -> None:
        """Unlink from the parent block, keeping operands and uses."""
        if self.parent is not None:
            self.parent._unlink(self)

    def move_before(self, other: Operation) -> None:
        self.detach()
        assert other.parent is not None
        other.parent.insert_before(other, self)

    def move_after(self, other: Operation) -> None:
        self.detach()
        assert other.parent is not None
        other.parent.insert_after(other, self)

    def clone(self, mapping: dict[Value, Value] | None = None) -> Operation:
        """Deep copy; operands are remapped through ``mapping`` (which is updated)."""
        mapping = {} if mapping is None else mapping
        new = Operation(
            self.name,
            [mapping.get(v, v) for v in self._operands],
            [r.type for r in self.results],
            self.attributes,
            loc=self.loc,
        )
        for old_r, new_r in zip(self.results, new.results):
            new_r.name_hint = old_r.name_hint
            mapping[old_r] = new_r
        for region in self.regions:
            new.add_region(region.clone(mapping))
        return new

    def __repr__(self) -> str:
        return f"<Operation {self.name} at {self.loc.prefix()}>"


class Block:
    """A list of operations with typed arguments, inside a region."""

    __slots__ = ("_order_valid", "_size", "args", "first", "last", "parent")

    def __init__(self, arg_types: list[TensorType] | tuple[TensorType, ...] = ()) -> None:
        self.args = [BlockArgument(t, self, i) for i, t in enumerate(arg_types)]
        self.parent: Region | None = None
        self.first: Operation | None = None
        self.last: Operation | None = None
        self._size = 0
        self._order_valid = False

    def add_arg(self, type: TensorType) -> BlockArgument:
        arg = BlockArgument(type, self, len(self.args))
        self.args.append(arg)
        return arg

    def erase_arg(self, index: int) -> None:
        arg = self.args[index]
        if arg._uses:
            raise ValueError(f"cannot erase block argument #{index}: still used")
        del self.args[index]
        for i, a in enumerate(self.args):
            a.index = i

    def __iter__(self) -> Iterator[Operation]:
        """Ops in order; safe against erasing the current op."""
        op = self.first
        while op is not None:
            nxt = op.next
            yield op
            op = nxt

    def __len__(self) -> int:
        return self._size

    @property
    def ops(self) -> list[Operation]:
        return list(self)

    @property
    def terminator(self) -> Operation | None:
        return self.last

    def reversed(self) -> Iterator[Operation]:
        op = self.last
        while op is not None:
            prv = op.prev
            yield op
            op = prv

    def _ensure_order(self) -> None:
        if self._order_valid:
            return
        for i, op in enumerate(self):
            op._order = i
        self._order_valid = True

    def _link(self, op: Operation, prev: Operation | None, nxt: Operation | None) -> None:
        if op.parent is not None:
            raise ValueError(f"{op.name} is already in a block")
        op.parent = self
        op.prev, op.next = prev, nxt
        if prev is None:
            self.first = op
        else:
            prev.next = op
        if nxt is None:
            self.last = op
        else:
            nxt.prev = op
        self._size += 1
        self._order_valid = False

    def _unlink(self, op: Operation) -> None:
        if op.prev is None:
            self.first = op.next
        else:
            op.prev.next = op.next
        if op.next is None:
            self.last = op.prev
        else:
            op.next.prev = op.prev
        op.parent = op.prev = op.next = None
        self._size -= 1
        self._order_valid = False

    def append(self, op: Operation) -> Operation:
        self._link(op, self.last, None)
        return op

    def insert_before(self, anchor: Operation, op: Operation) -> Operation:
        self._link(op, anchor.prev, anchor)
        return op

    def insert_after(self, anchor: Operation, op: Operation) -> Operation:
        self._link(op, anchor, anchor.next)
        return op

    def walk(self) -> Iterator[Operation]:
        for op in self:
            yield from op.walk()


class Region:
    """A list of blocks owned by an operation (or a function)."""

    __slots__ = ("blocks", "parent")

    def __init__(self, blocks: list[Block] | None = None) -> None:
        self.blocks: list[Block] = []
        self.parent: Operation | None = None
        for b in blocks or ():
            self.add_block(b)

    def add_block(self, block: Block) -> Block:
        block.parent = self
        self.blocks.append(block)
        return block

    @property
    def block(self) -> Block:
        """The single block of a single-block region."""
        if len(self.blocks) != 1:
            raise ValueError(f"region has {len(self.blocks)} blocks, not 1")
        return self.blocks[0]

    def walk(self) -> Iterator[Operation]:
        for b in self.blocks:
            yield from b.walk()

    def clone(self, mapping: dict[Value, Value]) -> Region:
        new = Region()
        for b in self.blocks:
            nb = Block([a.type for a in b.args])
            for a, na in zip(b.args, nb.args):
                na.name_hint = a.name_hint
                mapping[a] = na
            new.add_block(nb)
        for b, nb in zip(self.blocks, new.blocks):
            for op in b:
                nb.append(op.clone(mapping))
        return new

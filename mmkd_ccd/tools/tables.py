"""The one markdown-table writer of the tools (sweep, study, analysis,
demo), and how they print a metric."""
from __future__ import annotations

from typing import Any, Optional, Sequence

#: Column alignments: markdown's rule cell for each.
RULES = {'left': '---', 'right': '---:', 'center': ':---:'}


def format_metric(value: Any, digits: int = 2) -> str:
    """``digits`` decimals (2, as in the paper's tables) for a number, the
    text of anything else, ``-`` for a missing value."""
    if value is None:
        return '-'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'{value:.{digits}f}'
    return str(value)


def _cell(value: Any) -> str:
    # A '|' would end the cell and a newline the row.
    return str(value).replace('|', '\\|').replace('\n', ' ')


def markdown_table(header: Sequence[Any],
                   rows: Sequence[Sequence[Any]],
                   align: Optional[Sequence[str]] = None,
                   title: Optional[str] = None) -> str:
    """A markdown table, one line per row, ending with a newline.

    Args:
        header (Sequence): The column names.
        rows (Sequence[Sequence]): The cells, already formatted (``str()``
            is applied; ``|`` is escaped and newlines become spaces).
        align (Sequence[str], optional): Per column ``'left'``, ``'right'``
            or ``'center'``. Defaults to None (markdown's default, left).
        title (str, optional): A ``## title`` line and a blank line before
            the table. Defaults to None.

    Raises:
        ValueError: a row or ``align`` has not one entry per column, or an
            alignment is unknown.
    """
    width = len(header)
    align = list(align) if align is not None else ['left'] * width
    if len(align) != width:
        raise ValueError(f'align has {len(align)} entries for {width} '
                         'columns')
    unknown = sorted(set(align) - set(RULES))
    if unknown:
        raise ValueError(f'unknown alignment(s) {unknown}; use one of '
                         f'{sorted(RULES)}')
    lines = [] if title is None else [f'## {title}', '']
    lines += ['| ' + ' | '.join(_cell(h) for h in header) + ' |',
              '|' + '|'.join(RULES[a] for a in align) + '|']
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f'row {index} has {len(row)} cells for '
                             f'{width} columns: {list(row)}')
        lines.append('| ' + ' | '.join(_cell(c) for c in row) + ' |')
    return '\n'.join(lines) + '\n'

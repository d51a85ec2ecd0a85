"""mmkd_ccd.tools.tables: the one markdown-table writer."""
import pytest

from mmkd_ccd.tools.tables import format_metric, markdown_table


def test_table_lines_alignment_and_title():
    table = markdown_table(['name', 'top-1'], [['KD', '91.50'], ['CCD', 93]],
                           align=['left', 'right'], title='digits')
    assert table == ('## digits\n\n'
                     '| name | top-1 |\n'
                     '|---|---:|\n'
                     '| KD | 91.50 |\n'
                     '| CCD | 93 |\n')


def test_cells_cannot_break_the_table():
    table = markdown_table(['a'], [['x|y'], ['two\nlines']])
    assert table.splitlines()[2:] == ['| x\\|y |', '| two lines |']


def test_rows_and_alignments_must_fit_the_header():
    with pytest.raises(ValueError, match=r'row 1 has 1 cells for 2 columns'):
        markdown_table(['a', 'b'], [['1', '2'], ['3']])
    with pytest.raises(ValueError, match='align has 1 entries for 2 columns'):
        markdown_table(['a', 'b'], [], align=['left'])
    with pytest.raises(ValueError, match=r"unknown alignment\(s\) \['up'\]"):
        markdown_table(['a'], [], align=['up'])


def test_format_metric():
    assert format_metric(93.456) == '93.46'
    assert format_metric(2) == '2.00'
    assert format_metric(1.23456, digits=4) == '1.2346'
    assert format_metric(None) == '-'
    assert format_metric('n/a') == 'n/a'
    assert format_metric(True) == 'True'

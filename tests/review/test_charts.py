"""The analyst pages' inline SVG charts: what each mark means, and that only numbers reach the drawing."""

from __future__ import annotations

from review.charts import interval_chart_svg


def test_each_list_date_has_its_interval_and_a_realised_or_so_far_mark():
    points = [
        ("2022-11-01", 0.73, 0.68, 0.77, 0.76),  # matured: the realised value
        ("2023-05-01", 0.74, 0.70, 0.78, None),  # halfway: the value so far, marked apart
        ("2023-11-01", 0.72, 0.69, 0.76, None),  # too young: the expectation only
    ]
    svg = str(interval_chart_svg(points, title="AUROC 101-01", partial={"2023-05-01": 0.71}))
    assert svg.count('<line class="interval"') == 3
    assert svg.count('<circle class="expected"') == 3
    assert svg.count('<rect class="realised"') == 1
    assert svg.count('<rect class="realised partial"') == 1
    assert "3 lists, 1 with realised values, 1 halfway" in svg


def test_a_matured_value_is_shown_instead_of_the_value_so_far():
    points = [("2022-11-01", 0.73, 0.68, 0.77, 0.76)]
    svg = str(interval_chart_svg(points, title="AUROC 101-01", partial={"2022-11-01": 0.78}))
    assert 'class="realised partial"' not in svg
    assert svg.count('class="realised"') == 1


def test_the_title_is_escaped_and_no_chart_is_drawn_without_points():
    svg = str(interval_chart_svg([("2022-11-01", 0.7, 0.6, 0.8, None)], title="<b>x</b>"))
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert str(interval_chart_svg([], title="AUROC")) == ""


def test_a_line_chart_names_what_it_shows_on_the_chart_itself():
    from review.charts import line_chart_svg

    svg = str(
        line_chart_svg([("2022-11-01", 0.01), ("2023-05-01", 0.03)], title="Score PSI 101-01", unit="PSI")
    )
    assert ">Score PSI 101-01</text>" in svg

{# convert an integer amount of cents into a decimal amount of dollars; 100.0, not 100: on
   PostgreSQL an integer divided by an integer is truncated to an integer (DuckDB divides exactly) #}
{% macro cents_to_dollars(column_name) -%}
    ({{ column_name }} / 100.0)::numeric(16, 2)
{%- endmacro %}

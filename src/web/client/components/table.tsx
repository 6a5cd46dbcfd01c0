// A table that scrolls sideways inside its own box on narrow screens, with a header row of column titles.
import type { ComponentChildren } from 'preact';

interface TableProps {
  /** Column titles; a title that only screen readers need can be a visually hidden span. */
  columns: ComponentChildren[];
  class?: string;
  children: ComponentChildren;
}

export function Table({ columns, class: className, children }: TableProps) {
  return (
    <div class="table-wrap">
      <table class={className}>
        <thead>
          <tr>
            {columns.map((title, i) => (
              <th key={i} scope="col">
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export const Hidden = ({ children }: { children: ComponentChildren }) => <span class="visually-hidden">{children}</span>;

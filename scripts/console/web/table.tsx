/** A table's header row: one column header per name. */
export const Head = ({ columns }: { columns: string[] }) => (
  <thead>
    <tr>
      {columns.map((c) => (
        <th scope="col" key={c}>
          {c}
        </th>
      ))}
    </tr>
  </thead>
)

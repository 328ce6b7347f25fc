import type { Queryable } from '../../src/ports/database.ts'

/**
 * The schema of `public` as sorted text lines: columns, indexes, constraints, functions, partitions and
 * every relation. Two databases with equal catalogues have the same schema. postgrator's own
 * bookkeeping table is left out: it exists once any migration ran, at every version.
 */
export async function catalogue(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ item: string }>(`
    SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable,
                  column_default) AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL
    SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('function %s(%s) %s', proname, pg_get_function_identity_arguments(oid), md5(prosrc))
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('partition %s of %s %s', c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid))
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT format('relation %s kind=%s', relname, relkind) FROM pg_class
     WHERE relnamespace = 'public'::regnamespace
  `)
  return rows
    .map((r) => r.item)
    .filter((item) => !item.includes('schema_migrations'))
    .sort()
}

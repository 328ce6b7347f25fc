import type { Queryable } from '../../src/ports/database.ts'

/**
 * The schema of `public` as sorted text lines: columns, indexes, constraints, functions, partitions,
 * every relation, views, triggers, standalone types (enums, domains) and extensions. Two databases with
 * equal catalogues have the same schema. postgrator's own bookkeeping table is left out: it exists once
 * any migration ran, at every version. NOT NULL constraints (catalogued since PostgreSQL 18, which
 * PGlite is) are left to the columns' `null=` so that PGlite and an older server compare equal.
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
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
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
    UNION ALL
    SELECT format('view %s %s', c.relname, md5(pg_get_viewdef(c.oid))) FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger
     WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
    UNION ALL
    SELECT format('type %s kind=%s %s', t.typname, t.typtype,
                  (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid))
      FROM pg_type t
     WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0 AND t.typelem = 0
    UNION ALL
    SELECT format('extension %s', extname) FROM pg_extension WHERE extname <> 'plpgsql'
  `)
  return rows
    .map((r) => r.item)
    .filter((item) => !item.includes('schema_migrations'))
    .sort()
}
